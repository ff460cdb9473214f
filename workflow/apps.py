from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "workflow"
    verbose_name = "办件"

    def ready(self):
        from . import actions, permissions  # noqa: F401  (audit actions, the case steps among them; permissions)
