from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = "共享"

    def ready(self):
        from . import actions, cases, receivers  # noqa: F401  (audit actions; case types; grants listen to catalog changes)
