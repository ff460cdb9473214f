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
