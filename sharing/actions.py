"""The audit actions of sharing (SEC1): share requests and grants, calls, corrections, rectification,
demands, disputes, backflow, re-evaluation, onward provision and federation with upper instances."""

from audit.actions import declare

declare({
    "sharing.request_share": "提交共享申请",
    "sharing.grant": "授予共享授权",
    "sharing.revoke_grant": "撤销共享授权",
    "sharing.report_use": "报告数据应用成效、存储或销毁情况",
    "sharing.suspend_grant": "暂停共享授权",
    "sharing.resume_grant": "恢复共享授权",
    "sharing.terminate_grant": "终止共享授权",
    "sharing.expire_grant": "共享授权到期",
    "sharing.withhold_items": "收回授权数据项（分级调整）",
    "sharing.call": "调用共享数据",
    "sharing.raise_correction": "提出校核纠错",
    "sharing._open_rectification": "发起限期整改",
    "sharing._suspend": "因整改暂停授权",
    "sharing.raise_demand": "提出数据需求",
    "sharing.fulfil_demand": "响应数据需求",
    "sharing.raise_dispute": "提请共享争议",
    "sharing.backflow": "数据回流",
    "sharing._open_reevaluation": "发起有条件共享定期评估",
    "sharing.ask_onward": "申请向第三方提供",
    "sharing.add_peer": "登记联邦平台",
    "sharing.authenticate_peer": "联邦平台请求认证",
    "sharing.forward_request": "向上级平台转报共享申请",
    "sharing.remote_call": "调用上级平台数据",
})
