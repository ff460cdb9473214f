from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "基础"

    def ready(self):
        from . import actions, permissions, signals  # noqa: F401  (permissions and audit actions: declared)
