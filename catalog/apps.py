from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "目录"

    def ready(self):
        from . import actions, cases, permissions  # noqa: F401  (audit actions; the catalog case types; permissions)
