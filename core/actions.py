"""The audit actions of core: regions, organisations, users, tokens, the calendar, signing in (SEC1)."""

from audit.actions import declare

declare({
    "core.create_region": "新建区域",
    "core.create_organisation": "新建组织机构",
    "core.create_user": "新建用户",
    "core.add_membership": "授予组织角色",
    "core.issue_token": "签发访问令牌",
    "core.revoke_token": "吊销访问令牌",
    "core.authenticate_token": "访问令牌认证",
    "core.rate_limit": "超出调用频率限制",
    "core.set_calendar_day": "设置工作日历",
    "core.login": "登录",
    "core.logout": "退出登录",
    "core.enrol_totp_device": "绑定动态验证码设备",
    "core.confirm_totp_device": "确认动态验证码设备",
    "core.mark_notifications_read": "通知标为已读",
})
