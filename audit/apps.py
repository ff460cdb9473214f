from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "审计"

    def ready(self):
        from . import actions, checks, permissions  # noqa: F401  (its audit actions and permission; checkpoints outside the data directory)
