"""The audit chain's tests record a few events of their own, under names declared here like any app's."""

from audit.actions import declare

declare({
    "test.sha256": "测试：SHA-256 链",
    "test.after_checkpoint": "测试：检查点之后的事件",
    "test.county_event": "测试：县级事件",
    "test.platform_event": "测试：平台事件",
    "test.public_event": "测试：公众事件",
    "test.after": "测试：后续事件",
})
