from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = "共享"

    def ready(self):
        from . import actions, cases, permissions, receivers  # noqa: F401  (audit actions; case types; permissions;
        # grants listen to catalog changes)
