from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "目录"

    def ready(self):
        from . import cases  # noqa: F401  (registers the catalog case types)
