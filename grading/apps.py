from django.apps import AppConfig


class GradingConfig(AppConfig):
    name = "grading"
    verbose_name = "分类分级"

    def ready(self):
        from . import actions  # noqa: F401  (audit actions)
