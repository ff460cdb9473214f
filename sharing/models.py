"""Sharing between public bodies (S1–S9, A7): share requests, grants, and the refused calls counted
against a grant. Every decision is a workflow case; every call goes through the warehouse query path."""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import Resource
from core.models import BaseModel, Organisation, User
from workflow.models import Case

Method = Resource.ShareMethod  # api | file | db_sync: what the catalog offers is what can be granted


class ShareRequest(BaseModel):
    """An agency's application for data (S3, SYS Art. 27): scenario, method, items, period and basis."""

    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="share_requests", verbose_name=_("数据资源"))
    applicant = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="share_requests", verbose_name=_("申请部门"))
    requested_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    scenario = models.CharField(_("应用场景"), max_length=200)
    basis = models.TextField(_("履职依据"))
    method = models.CharField(_("共享方式"), max_length=10, choices=Method.choices)
    items = models.JSONField(_("申请数据项"), default=list)
    row_filter = models.JSONField(_("数据范围"), default=dict, blank=True)  # column -> allowed values
    valid_until = models.DateField(_("使用期限"))
    share_type = models.CharField(_("共享类型"), max_length=20, choices=Resource.ShareType.choices)  # when asked
    case = models.OneToOneField(Case, null=True, on_delete=models.PROTECT, related_name="share_request")

    class Meta:
        verbose_name = _("共享申请")
        verbose_name_plural = _("共享申请")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.applicant} → {self.resource}"


def _grant_ref() -> str:
    return "G" + secrets.token_hex(6).upper()


class Grant(BaseModel):
    """An approved, scoped, expiring right to use data (S4): items, rows, method, purpose, period."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("有效")
        SUSPENDED = "suspended", _("已暂停")
        REVOKED = "revoked", _("已撤销")
        TERMINATED = "terminated", _("已终止")

    class Kind(models.TextChoices):
        REQUEST = "request", _("共享申请")
        BACKFLOW = "backflow", _("数据回流")

    ref = models.CharField(_("授权编号"), max_length=20, unique=True, default=_grant_ref)
    kind = models.CharField(_("来源"), max_length=10, choices=Kind.choices, default=Kind.REQUEST)
    request = models.OneToOneField(ShareRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="grant")
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="grants", verbose_name=_("数据资源"))
    holder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="grants", verbose_name=_("使用部门"))
    items = models.JSONField(_("授权数据项"), default=list)
    row_filter = models.JSONField(_("数据范围"), default=dict, blank=True)
    method = models.CharField(_("共享方式"), max_length=10, choices=Method.choices)
    purpose = models.CharField(_("应用场景"), max_length=200)
    valid_from = models.DateField(_("生效日期"))
    valid_until = models.DateField(_("到期日期"))
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.TextField(_("状态说明"), blank=True)

    class Meta:
        verbose_name = _("共享授权")
        verbose_name_plural = _("共享授权")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["holder", "status"]), models.Index(fields=["resource", "status"])]

    def __str__(self) -> str:
        return f"{self.ref} {self.resource} → {self.holder}"

    def in_force(self, today: dt.date | None = None) -> bool:
        today = today or timezone.localdate()
        return self.status == self.Status.ACTIVE and self.valid_from <= today <= self.valid_until


class RefusedCall(models.Model):
    """A call refused on a grant (S7: calls outside the granted items or purpose are refused and counted)."""

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="refusals")
    at = models.DateTimeField(auto_now_add=True)
    organisation = models.ForeignKey(Organisation, null=True, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=40)
    message = models.CharField(max_length=300)
    audit_seq = models.BigIntegerField(null=True)

    class Meta:
        ordering = ["-at"]
