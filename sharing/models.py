"""Sharing between public bodies (S1–S9, A7): share requests, grants (entitlements of the access app, whose
refused calls it counts), rectifications. Every decision is a workflow case; every call goes through the warehouse query path."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from access import misuse
from access.models import Entitlement
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
    grant = models.OneToOneField(Entitlement, null=True, blank=True, on_delete=models.PROTECT, related_name="request")

    class Meta:
        verbose_name = _("共享申请")
        verbose_name_plural = _("共享申请")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.applicant} → {self.resource}"


class GrantManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(origin__in=Grant.Kind.values)


class Grant(Entitlement):
    """A share grant (S4): the entitlement an approved share request, a backflow or an onward provision
    gives — items, rows, method, purpose, period — on the one access path (``access``)."""

    Kind = Entitlement.Origin  # request | backflow | onward: where a share grant came from

    objects = GrantManager()
    LINK = "/share/grants/{ref}/"  # the holder's page of a grant (notices, the lifecycle's links)

    class Meta:
        proxy = True
        verbose_name = _("共享授权")
        verbose_name_plural = _("共享授权")

    @property
    def kind(self) -> str:
        return self.origin


class Correction(BaseModel):
    """A dispute of data about oneself, or a mismatch found by cross-checking (S5, SYS Art. 28): the
    provider verifies and corrects within its deadline and answers; a correction is a new snapshot."""

    class Source(models.TextChoices):
        PERSON = "person", _("本人申请")
        ORGANISATION = "organisation", _("本单位申请")
        CROSS_CHECK = "cross_check", _("比对核查发现")

    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="corrections", verbose_name=_("数据资源"))
    source = models.CharField(_("来源"), max_length=20, choices=Source.choices)
    key = models.JSONField(_("记录"))  # key column -> value
    column = models.CharField(_("数据项"), max_length=100)
    claimed_value = models.CharField(_("应为"), max_length=500)
    reason = models.TextField(_("理由"))
    raised_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    raised_for = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="corrections_raised")
    case = models.OneToOneField(Case, null=True, on_delete=models.PROTECT, related_name="correction")
    batch = models.ForeignKey("warehouse.Batch", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("校核纠错")
        verbose_name_plural = _("校核纠错")
        ordering = ["-created_at"]


class Rectification(BaseModel):
    """A grant used outside its terms (S7, SYS Art. 31, 33): no call for months, unusual volumes or hours,
    calls after expiry, repeated calls outside the grant. The holder rectifies by a deadline; if it does
    not, the grant is suspended, then terminated."""

    Reason = misuse.Reason  # the finding of the misuse rules (access.misuse)

    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="rectifications")
    reason = models.CharField(_("原因"), max_length=20, choices=Reason.choices)
    detail = models.TextField(_("情况"))
    case = models.OneToOneField(Case, null=True, on_delete=models.PROTECT, related_name="rectification")
    suspended_on = models.DateField(_("暂停日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("整改")
        verbose_name_plural = _("整改")
        ordering = ["-created_at"]


class Demand(BaseModel):
    """A request for data not (yet) available (S8, SYS Art. 32): the provider answers within its deadline;
    an accepted demand for data not catalogued obliges it to publish the entry and mount the data."""

    applicant = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="demands_made", verbose_name=_("需求部门"))
    provider = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="demands_received", verbose_name=_("提供部门"))
    resource = models.ForeignKey(Resource, null=True, blank=True, on_delete=models.PROTECT, related_name="demands",
                                 verbose_name=_("数据资源"))
    data = models.TextField(_("所需数据"))  # the items, in the applicant's words
    scenario = models.CharField(_("应用场景"), max_length=200)
    basis = models.TextField(_("依据"))
    requested_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    case = models.OneToOneField(Case, null=True, on_delete=models.PROTECT, related_name="demand")

    class Meta:
        verbose_name = _("数据需求")
        verbose_name_plural = _("数据需求")
        ordering = ["-created_at"]


class Dispute(BaseModel):
    """A disagreement between a user of data and its provider (S6, SYS Art. 29): negotiation, then the
    same-level bureau, then the city bureau, then a government decision; every step a recorded transition."""

    applicant = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="disputes_raised", verbose_name=_("申请方"))
    provider = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="disputes_received", verbose_name=_("提供方"))
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="disputes", verbose_name=_("数据资源"))
    subject = models.CharField(_("争议事项"), max_length=300)
    detail = models.TextField(_("情况说明"))
    case = models.OneToOneField(Case, null=True, on_delete=models.PROTECT, related_name="dispute")

    class Meta:
        verbose_name = _("共享争议")
        verbose_name_plural = _("共享争议")
        ordering = ["-created_at"]


class Peer(models.Model):
    """Another Gongshu instance in federation (S9): an upper one (the province) this city forwards requests
    and calls to, or a lower one (a city) it answers. Its requests are signed with its key."""

    class Level(models.TextChoices):
        UPPER = "upper", _("上级平台")
        LOWER = "lower", _("下级平台")

    name = models.CharField(_("名称"), max_length=100, unique=True)
    url = models.URLField(_("地址"))
    public_key = models.CharField(_("公钥"), max_length=100)
    level = models.CharField(_("层级"), max_length=10, choices=Level.choices)
    # a lower instance acts here as this organisation (e.g. the city's data bureau): it applies, holds grants
    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class RemoteRequest(BaseModel):
    """A share request this instance forwarded to an upper one for one of its agencies (S9)."""

    peer = models.ForeignKey(Peer, on_delete=models.PROTECT, related_name="requests")
    applicant = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="remote_requests")
    requested_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    resource_code = models.CharField(_("目录编码"), max_length=100)
    scenario = models.CharField(_("应用场景"), max_length=200)
    remote_id = models.PositiveBigIntegerField()
    case_number = models.CharField(_("上级办件"), max_length=40)
    state = models.CharField(_("状态"), max_length=40)
    grant_ref = models.CharField(_("上级授权"), max_length=20, blank=True)


class RemoteCall(models.Model):
    """One call this instance forwarded on an upper instance's grant, with both sides' receipts (S9)."""

    request = models.ForeignKey(RemoteRequest, on_delete=models.PROTECT, related_name="calls")
    at = models.DateTimeField(auto_now_add=True)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    rows = models.PositiveIntegerField()
    remote_seq = models.BigIntegerField(null=True)
    remote_hash = models.CharField(max_length=64, blank=True)
    audit_seq = models.BigIntegerField(null=True)


class Reevaluation(BaseModel):
    """The periodic re-evaluation of a conditional entry (S1, SYS Art. 25): keep the conditions (with
    reasons) or relax them (the entry is then updated through the catalog review)."""

    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="reevaluations")
    case = models.OneToOneField(Case, null=True, on_delete=models.PROTECT, related_name="reevaluation")


class OnwardProvision(BaseModel):
    """A holder's wish to provide shared data to a third party (S7, SYS Art. 33): only with the provider's
    recorded consent, and then as a grant no wider than the holder's own."""

    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="onward_provisions")
    recipient = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("接收方"))
    purpose = models.CharField(_("用途"), max_length=200)
    items = models.JSONField(_("数据项"), default=list)
    case = models.OneToOneField(Case, null=True, on_delete=models.PROTECT, related_name="onward_provision")
    derived = models.OneToOneField(Grant, null=True, blank=True, on_delete=models.PROTECT, related_name="onward_source")


class UseReport(BaseModel):
    """A6, SYS Art. 20: what the obtaining agency reports of the data it got through a grant, beyond each
    call's usage log: the use's effect, how the data is stored, and its destruction. Appended, never edited."""

    class Kind(models.TextChoices):
        EFFECT = "effect", _("应用成效")
        STORAGE = "storage", _("存储情况")
        DESTRUCTION = "destruction", _("销毁情况")

    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="use_reports")
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices)
    text = models.TextField(_("情况"))
    on = models.DateField(_("日期"))
    reported_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-on", "-created_at"]
