"""The audit actions of the project package (SEC1): what the API assembly records itself. The demo, the
CLI and backups record through the apps' services (``audit.checkpoint``…), so they add no name here.
Imported by ``gongshu.api``, the module that records them; a job of ``gongshu.jobs`` that records its
own event declares it here and imports this module."""

from audit.actions import declare

declare({
    "api.request": "接口请求被拒绝",
})
