from django.apps import AppConfig


class WarehouseConfig(AppConfig):
    name = "warehouse"
    verbose_name = "数据仓"

    def ready(self):
        from . import regrade  # noqa: F401  (snapshots follow a re-grade: re-encrypted when it asks for it)
        from . import actions, cases, checks, permissions  # noqa: F401  (audit actions; the source database review;
        # the import directory's check; permissions)
