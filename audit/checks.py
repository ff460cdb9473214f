"""Settings checks of the audit chain (``manage.py check``, run before serving and migrating)."""

from django.core import checks

from foundation.errors import GongshuError


@checks.register(checks.Tags.security)
def checkpoints_outside_the_data_dir(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """SEC2: checkpoints and their signing key must lie outside the data directory, or whoever owns it could
    rewrite the chain and remove (or re-sign) the checkpoints that would show it."""
    from . import checkpoints

    try:
        checkpoints.directory()
        checkpoints.key_path()
    except GongshuError as exc:
        return [checks.Error(exc.message, hint="GONGSHU_CHECKPOINT_DIR 与 GONGSHU_KEY_DIR 须在 GONGSHU_DATA_DIR 之外",
                             id="audit.E001")]
    return []


@checks.register("audit")
def service_actions_declared(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """SEC1: every @service audits its refusals as ``<app>.<function>``; each such name, and every family of
    actions (the case engine's transitions), must be in the vocabulary with its Chinese label, or the first
    refusal of that service would fail instead of being recorded."""
    from django.urls import get_resolver

    from . import actions
    from .services import SERVICE_ACTIONS

    try:
        get_resolver().url_patterns  # the URLconf imports every view and API module, hence every service
    except Exception:  # noqa: BLE001  (a broken URLconf is Django's own check's to report)
        pass
    try:
        declared = actions.declared()
    except ValueError as exc:
        return [checks.Error(str(exc), id="audit.E002")]
    return [checks.Error(f"@service action {name!r} is not declared in its app's actions.py", id="audit.E002",
                         hint="audit.actions.declare({name: 中文名称}) in <app>/actions.py, imported from AppConfig.ready()")
            for name in sorted(SERVICE_ACTIONS - set(declared))]
