from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "审计"

    def ready(self):
        from . import actions, checks  # noqa: F401  (its own audit actions; checkpoints outside the data directory)
