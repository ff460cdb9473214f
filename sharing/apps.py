from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = "共享"

    def ready(self):
        from . import cases, receivers  # noqa: F401  (case types; grants listen to catalog changes)
