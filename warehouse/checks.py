"""Settings checks of the warehouse (``manage.py check``, run before serving and migrating)."""

from django.core import checks

from foundation.errors import GongshuError


@checks.register(checks.Tags.security)
def import_dir_outside_data_and_keys(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """A1: SQLite source files are read only under GONGSHU_IMPORT_DIR, which must not overlap the data
    directory (the platform's own database) or the key directory."""
    from . import extract

    try:
        extract.import_dir()
    except GongshuError as exc:
        return [checks.Error(exc.message, hint="GONGSHU_IMPORT_DIR 须在 GONGSHU_DATA_DIR 与 GONGSHU_KEY_DIR 之外",
                             id="warehouse.E001")]
    return []
