"""The roles a membership gives (P2), by name: the permission mechanism and every app refer to them."""

from django.db import models
from django.utils.translation import gettext_lazy as _


# Not a person's role: the platform's named monitor acting for a bureau (misuse review, re-evaluation). It
# holds no permission and passes a case's transition checks only where a transition names it, for the
# bureau's organisation (unlike the ``system`` operator actor, which skips them).
PLATFORM_MONITOR = "platform_monitor"
# Not a person's role either: the platform's scheduled work (the worker's jobs). It holds exactly the
# permissions its jobs need (each app's permissions.py says which) and passes transition checks only where a
# transition names it — unlike ``system``, the operator at the console (gongshu/cli.py), which skips them.
PLATFORM_SCHEDULER = "platform_scheduler"

# The platform's named actors and the label that names them (as the audit trail's actor, a case step's)
PLATFORM_ROLES = {PLATFORM_MONITOR: _("共享监测"), PLATFORM_SCHEDULER: _("平台定时任务")}


class Role(models.TextChoices):
    """P2 roles. A membership gives one role in one organisation."""

    BUREAU_ADMIN = "bureau_admin", _("数据局管理员")
    SERVICE_CENTRE_STAFF = "service_centre_staff", _("大数据中心工作人员")
    DATA_OFFICER = "data_officer", _("首席数据官")
    AGENCY_STAFF = "agency_staff", _("部门工作人员")
    OPERATOR_STAFF = "operator_staff", _("运营机构工作人员")
    DEVELOPER_STAFF = "developer_staff", _("开发主体工作人员")
    PUBLIC_USER = "public_user", _("社会公众")
    SUPERVISOR = "supervisor", _("监管人员")
    EXPERT = "expert", _("专家委员会委员")
