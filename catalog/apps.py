from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "目录"

    def ready(self):
        from . import actions, cases  # noqa: F401  (audit actions; registers the catalog case types)
