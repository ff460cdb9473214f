from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = "数据使用权限"

    def ready(self):
        from . import actions, cases  # noqa: F401  (audit actions; the revocation case type)
