from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "基础"

    def ready(self):
        from . import permissions, signals  # noqa: F401  (permissions: declared to the mechanism)
