"""Entitlements (issue 13): every right a party outside the owning agency holds to data — a share grant
today, and open-data keys, conditional open approvals, sandbox agreements and market orders later — is one
row here, read on every call by the one call path (``access.calls``) and metered per day."""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog.models import Resource
from core import workdays
from core.models import BaseModel, Organisation, User
from workflow.models import Case

Method = Resource.ShareMethod  # api | file | db_sync: what the catalog offers is what can be granted


def _ref() -> str:
    return "G" + secrets.token_hex(6).upper()


class Entitlement(BaseModel):
    """A scoped, expiring, metered right to use data: who holds it, what it covers (items, rows), how
    (method), for what (purpose), when (period), its status with the reason, where it came from, and its
    daily quota."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("有效")
        SUSPENDED = "suspended", _("已暂停")
        REVOKED = "revoked", _("已撤销")
        EXPIRED = "expired", _("已到期")
        TERMINATED = "terminated", _("已终止")

    class Origin(models.TextChoices):
        REQUEST = "request", _("共享申请")
        BACKFLOW = "backflow", _("数据回流")
        ONWARD = "onward", _("经同意向第三方提供")

    CLOSED = (Status.REVOKED, Status.EXPIRED, Status.TERMINATED)  # no way back to active

    ref = models.CharField(_("授权编号"), max_length=20, unique=True, default=_ref)
    origin = models.CharField(_("来源"), max_length=10, choices=Origin.choices, default=Origin.REQUEST)
    # the holder: an organisation, or a natural person (an anonymous public client comes with open data)
    holder = models.ForeignKey(Organisation, null=True, on_delete=models.PROTECT, related_name="grants", verbose_name=_("使用部门"))
    holder_person = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="entitlements",
                                      verbose_name=_("持有人"))
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="grants", verbose_name=_("数据资源"))
    items = models.JSONField(_("授权数据项"), default=list)
    row_filter = models.JSONField(_("数据范围"), default=dict, blank=True)
    method = models.CharField(_("共享方式"), max_length=10, choices=Method.choices)
    purpose = models.CharField(_("应用场景"), max_length=200)
    valid_from = models.DateField(_("生效日期"))
    valid_until = models.DateField(_("到期日期"))
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.TextField(_("状态说明"), blank=True)
    # per day; 0: no quota of that kind
    quota_calls = models.PositiveIntegerField(_("每日调用次数上限"), default=0)
    quota_rows = models.PositiveBigIntegerField(_("每日记录数上限"), default=0)
    quota_bytes = models.PositiveBigIntegerField(_("每日数据量上限（字节）"), default=0)
    price_plan = models.CharField(_("价格方案"), max_length=40, blank=True)  # the market's, later

    class Meta:
        verbose_name = _("数据使用权限")
        verbose_name_plural = _("数据使用权限")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["holder", "status"], name="access_holder_status"),
                   models.Index(fields=["resource", "status"], name="access_resource_status")]

    def __str__(self) -> str:
        return f"{self.ref} {self.resource} → {self.holder or self.holder_person}"

    def in_force(self, today: dt.date | None = None) -> bool:
        today = today or workdays.today()
        return self.status == self.Status.ACTIVE and self.valid_from <= today <= self.valid_until


class Meter(models.Model):
    """Use of one entitlement on one day: calls answered, rows and bytes returned. Counted in the
    transaction that appends the call's audit event (``access.calls``), never recounted from the chain."""

    entitlement = models.ForeignKey(Entitlement, on_delete=models.CASCADE, related_name="meters")
    day = models.DateField()
    calls = models.PositiveIntegerField(default=0)
    rows = models.PositiveBigIntegerField(default=0)
    bytes = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entitlement", "day"], name="access_meter_one_per_day")]
        ordering = ["-day"]


class Refusal(models.Model):
    """A call refused on an entitlement (S7: calls outside the granted items or purpose, after the end, over
    the quota... are refused and counted), whatever its kind: the misuse rules read these."""

    entitlement = models.ForeignKey(Entitlement, on_delete=models.CASCADE, related_name="refusals")
    at = models.DateTimeField(auto_now_add=True)
    organisation = models.ForeignKey(Organisation, null=True, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=40)
    message = models.CharField(max_length=300)
    audit_seq = models.BigIntegerField(null=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["entitlement", "at"], name="access_refusal_at")]


class Revocation(BaseModel):
    """A request to revoke an entitlement before its end, with the reason: a case the bureau reviews; the
    entitlement stays in force until the bureau decides (``access.cases``)."""

    entitlement = models.ForeignKey(Entitlement, on_delete=models.PROTECT, related_name="revocations", verbose_name=_("数据使用权限"))
    reason = models.TextField(_("撤销理由"))
    requested_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    case = models.OneToOneField(Case, null=True, on_delete=models.PROTECT, related_name="revocation")

    class Meta:
        verbose_name = _("撤销授权申请")
        verbose_name_plural = _("撤销授权申请")
        ordering = ["-created_at"]
