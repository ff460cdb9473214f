from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from foundation import identifiers

from foundation.roles import Role  # noqa: F401  (Membership.role's choices; core.models.Role as before)


class BaseModel(models.Model):
    """Ids, timestamps and who-changed-it for every domain model."""

    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True


def validate_uscc(value: str) -> None:
    problem = identifiers.uscc_problem(value)
    if problem:
        raise ValidationError(_("统一社会信用代码无效：%(reason)s"), params={"reason": identifiers.zh(problem)}, code="uscc")


def validate_citizen_id(value: str) -> None:
    problem = identifiers.citizen_id_problem(value)
    if problem:
        raise ValidationError(_("公民身份号码无效：%(reason)s"), params={"reason": identifiers.zh(problem)}, code="citizen_id")


class Region(BaseModel):
    """The administrative hierarchy (QZ Art. 6): city → county/district → town/street → village/community."""

    class Level(models.TextChoices):
        CITY = "city", _("市")
        COUNTY = "county", _("县（区）")
        TOWN = "town", _("乡镇（街道）")
        VILLAGE = "village", _("村（社区）")

    code = models.CharField(_("区划代码"), max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.CharField(_("层级"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    # Materialised path of codes, "/230500/230502/", so a subtree is one indexed prefix filter.
    path = models.CharField(max_length=255, db_index=True, editable=False)

    class Meta:
        verbose_name = _("区域")
        verbose_name_plural = _("区域")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    LEVEL_ORDER = [Level.CITY, Level.COUNTY, Level.TOWN, Level.VILLAGE]

    def clean(self):
        if self.parent is None:
            if self.level != self.Level.CITY:
                raise ValidationError({"parent": _("只有市级区域可以没有上级区域")})
            return
        expected = self.LEVEL_ORDER.index(self.parent.level) + 1
        if expected >= len(self.LEVEL_ORDER) or self.LEVEL_ORDER[expected] != self.level:
            raise ValidationError({"level": _("区域层级与上级区域不匹配")})

    def save(self, *args, **kwargs):
        self.path = (self.parent.path if self.parent else "/") + f"{self.code}/"
        super().save(*args, **kwargs)

    def is_within(self, other: Region) -> bool:
        return self.path.startswith(other.path)

    def ancestors_and_self(self) -> list[Region]:
        codes = [c for c in self.path.split("/") if c]
        by_code = {r.code: r for r in Region.objects.filter(code__in=codes)}
        return [by_code[c] for c in codes]


class Organisation(BaseModel):
    """A party of P1, identified by its USCC (GB 32100)."""

    class Kind(models.TextChoices):
        BUREAU = "bureau", _("数据局")
        SERVICE_CENTRE = "service_centre", _("大数据中心")
        AGENCY = "agency", _("公共管理和服务机构")
        UTILITY = "utility", _("公共服务企业")
        OPERATOR = "operator", _("运营机构")
        DEVELOPER = "developer", _("产品开发主体")
        MERCHANT = "merchant", _("数据商")
        SERVICE_BODY = "service_body", _("第三方专业服务机构")
        SUPERVISOR = "supervisor", _("监管部门")
        EXPERT_COMMITTEE = "expert_committee", _("专家委员会")
        LEGAL_PERSON = "legal_person", _("法人和非法人组织")
        PUBLIC = "public", _("社会公众")

    # Kinds that provide public data (MDJ Art. 3: agencies including utilities).
    PROVIDER_KINDS = {Kind.AGENCY, Kind.UTILITY, Kind.BUREAU, Kind.SERVICE_CENTRE}

    name = models.CharField(_("名称"), max_length=200)
    short_name = models.CharField(_("简称"), max_length=60, blank=True)
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, unique=True, null=True, blank=True, validators=[validate_uscc])
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    sector = models.CharField(
        _("职能领域"), max_length=40, blank=True, help_text=_("如 public_security、civil_affairs，对应规则库的数源部门")
    )
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="organisations", verbose_name=_("区域"))
    is_active = models.BooleanField(_("有效"), default=True)

    class Meta:
        verbose_name = _("组织")
        verbose_name_plural = _("组织")
        ordering = ["region__path", "kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(uscc=None) | models.Q(kind="public"), name="organisation_uscc_required"
            )
        ]

    def __str__(self) -> str:
        return self.name


# Which organisation kinds a role can be held in.
ROLE_ORGANISATION_KINDS = {
    Role.BUREAU_ADMIN: {Organisation.Kind.BUREAU},
    Role.SERVICE_CENTRE_STAFF: {Organisation.Kind.SERVICE_CENTRE},
    Role.DATA_OFFICER: {Organisation.Kind.AGENCY, Organisation.Kind.UTILITY},
    Role.AGENCY_STAFF: {Organisation.Kind.AGENCY, Organisation.Kind.UTILITY},
    Role.OPERATOR_STAFF: {Organisation.Kind.OPERATOR},
    Role.DEVELOPER_STAFF: {Organisation.Kind.DEVELOPER, Organisation.Kind.MERCHANT, Organisation.Kind.SERVICE_BODY},
    Role.PUBLIC_USER: {Organisation.Kind.PUBLIC, Organisation.Kind.LEGAL_PERSON},
    Role.SUPERVISOR: {Organisation.Kind.SUPERVISOR},
    Role.EXPERT: {Organisation.Kind.EXPERT_COMMITTEE},
}


class User(AbstractUser):
    display_name = models.CharField(_("姓名"), max_length=60, blank=True)
    citizen_id = models.CharField(
        _("公民身份号码"), max_length=18, unique=True, null=True, blank=True, validators=[validate_citizen_id]
    )
    phone = models.CharField(_("手机号码"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username


class Membership(BaseModel):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(_("角色"), max_length=30, choices=Role.choices)

    class Meta:
        verbose_name = _("成员")
        verbose_name_plural = _("成员")
        constraints = [models.UniqueConstraint(fields=["user", "organisation", "role"], name="membership_unique")]

    def clean(self):
        allowed = ROLE_ORGANISATION_KINDS[Role(self.role)]
        if self.organisation.kind not in allowed:
            raise ValidationError({"role": _("该角色不能在此类组织中担任")})


class CalendarDay(models.Model):
    """A day that differs from the Monday–Friday rule: a statutory holiday or a make-up workday (调休).

    Seeded from ``chinese-calendar``; the bureau adds the years the package does not know yet.
    """

    class Source(models.TextChoices):
        PACKAGE = "chinese-calendar", _("chinese-calendar")
        BUREAU = "bureau", _("数据局维护")

    date = models.DateField(_("日期"), primary_key=True)
    is_workday = models.BooleanField(_("是否工作日"))
    name = models.CharField(_("名称"), max_length=60, blank=True)
    source = models.CharField(_("来源"), max_length=20, choices=Source.choices, default=Source.PACKAGE)

    class Meta:
        verbose_name = _("工作日历")
        verbose_name_plural = _("工作日历")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'班' if self.is_workday else '休'} {self.name}"


class Notification(BaseModel):
    """A message to an organisation (all its members see it) or to one user."""

    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    message = models.CharField(_("内容"), max_length=500)
    link = models.CharField(max_length=300, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class ApiToken(BaseModel):
    """An API token (P3): shown once, stored as a hash, bound to one organisation, scoped, expiring."""

    class Scope(models.TextChoices):
        READ = "read", _("只读")
        WRITE = "write", _("读写")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("名称"), max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=128)
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(_("到期时间"))
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")
        ordering = ["-created_at"]

    def is_usable(self, now: dt.datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now


class RateCount(models.Model):
    """How often one key (a client address, a token, later a quota) was used in one fixed window, summed over
    every process (``core.ratelimit``). A tally (a count kept for a report, e.g. unauthenticated refusals) stays
    until its report takes it; other rows are removed once their window has ended."""

    name = models.CharField(max_length=200)
    window_start = models.BigIntegerField()  # Unix seconds
    ends_at = models.BigIntegerField(db_index=True)  # Unix seconds
    count = models.BigIntegerField(default=0)
    tally = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "window_start"], name="ratecount_window")]


class Nonce(models.Model):
    """A nonce a signed-request sender already used within the clock window (front-end machines, federation
    peers: ``core.signed``): the same nonce again from the same sender is a replay, refused."""

    scope = models.CharField(max_length=20)  # front_end | peer
    sender = models.CharField(max_length=100)
    nonce = models.CharField(max_length=64)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "sender", "nonce"], name="nonce_once_per_sender")]
