from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog.models import Resource
from core.models import BaseModel, Organisation, User


class Batch(BaseModel):
    """One delivery of data by a provider (A1, A3): checked whole, then published as a snapshot or refused."""

    class Channel(models.TextChoices):
        UPLOAD = "upload", _("文件上传")
        API = "api", _("接口推送")
        FRONT_END = "front_end", _("前置机推送")
        EXTRACT = "extract", _("库表抽取")
        CONSOLIDATE = "consolidate", _("基础库归集")
        CORRECTION = "correction", _("校核纠错")

    class Mode(models.TextChoices):
        FULL = "full", _("全量")
        DELTA = "delta", _("增量（按主键合并）")

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        CHECKING = "checking", _("检查中")
        PUBLISHED = "published", _("已发布")
        REFUSED = "refused", _("已退回")

    STAGES = ("reading", "checking", "writing", "publishing")  # the steps of its work, for progress

    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="batches")
    provider = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    submitted_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(_("渠道"), max_length=20, choices=Channel.choices)
    mode = models.CharField(_("方式"), max_length=10, choices=Mode.choices, default=Mode.FULL)
    filename = models.CharField(_("文件"), max_length=255, blank=True)
    encoding = models.CharField(_("编码"), max_length=20, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.CHECKING)
    stage = models.CharField(_("进度"), max_length=20, blank=True)  # reading | checking | writing | publishing
    upload = models.CharField(max_length=500, blank=True)  # a queued file, relative to the uploads directory
    rows_received = models.PositiveBigIntegerField(_("收到行数"), default=0)
    rows_accepted = models.PositiveBigIntegerField(_("接收行数"), default=0)
    rows_refused = models.PositiveBigIntegerField(_("问题行数"), default=0)
    error_rate = models.FloatField(default=0)
    message = models.TextField(_("说明"), blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("批次")
        verbose_name_plural = _("批次")
        ordering = ["-created_at"]

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.PUBLISHED, self.Status.REFUSED)

    @property
    def percent(self) -> int:
        """How far the work is, for the progress bar of a queued upload."""
        if self.finished:
            return 100
        return int(100 * (self.STAGES.index(self.stage) + 0.5) / len(self.STAGES)) if self.stage in self.STAGES else 0


class Snapshot(models.Model):
    """An immutable state of a resource's data (A4). Only a committed row makes a snapshot visible."""

    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="snapshots")
    version = models.PositiveIntegerField()
    batch = models.OneToOneField(Batch, null=True, on_delete=models.PROTECT, related_name="snapshot")
    path = models.CharField(max_length=500)
    row_count = models.PositiveBigIntegerField()
    columns = models.JSONField()
    key_columns = models.JSONField(default=list)
    encrypted = models.BooleanField(default=False)
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["resource", "-version"]
        constraints = [models.UniqueConstraint(fields=["resource", "version"], name="snapshot_version_unique")]


class QualityIssue(BaseModel):
    """A problem row of a batch (A3): traceable to batch and provider, assignable for correction."""

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        ASSIGNED = "assigned", _("已分派")
        CORRECTED = "corrected", _("已更正")

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="issues")
    row = models.PositiveBigIntegerField(_("行号"))
    column = models.CharField(_("列"), max_length=100)
    value = models.CharField(_("值"), max_length=200, blank=True)
    rule = models.CharField(_("规则"), max_length=40)
    message = models.CharField(_("说明"), max_length=200)
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["batch", "row", "column"]


class UsageLog(models.Model):
    """A6, SYS Art. 20: each use of data — who, for what scenario, which resource and items, how many rows.
    Copied from the read's audit event by ``warehouse.usage`` (see there)."""

    at = models.DateTimeField(db_index=True)
    user = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+", db_index=False)
    organisation = models.ForeignKey(Organisation, null=True, on_delete=models.PROTECT, related_name="usage_logs",
                                     db_index=False)
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="usage_logs")
    snapshot = models.ForeignKey(Snapshot, null=True, on_delete=models.PROTECT, related_name="+", db_index=False)
    purpose = models.CharField(_("应用场景"), max_length=200)
    scope = models.CharField(max_length=40)
    grant_ref = models.CharField(max_length=64, blank=True)
    items = models.JSONField(default=list)
    row_count = models.PositiveBigIntegerField()
    channel = models.CharField(max_length=10)
    query = models.TextField(blank=True)
    audit_seq = models.BigIntegerField(null=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["organisation", "at"]), models.Index(fields=["grant_ref", "at"])]


class UsageProgress(models.Model):
    """How far the usage log has been copied from the audit chain (one row): the last event looked at."""

    seq = models.BigIntegerField(default=0)


class EngineChoice(models.Model):
    """A resource too large for one machine is queried on Spark (the same query path, transpiled SQL)."""

    class Engine(models.TextChoices):
        DUCKDB = "duckdb", "DuckDB"
        SPARK = "spark", "Spark"

    resource = models.OneToOneField(Resource, on_delete=models.CASCADE, related_name="engine_choice")
    engine = models.CharField(max_length=10, choices=Engine.choices, default=Engine.DUCKDB)


class FrontEndMachine(BaseModel):
    """An agency-side front-end machine (前置机, A1): pushes batches signed with its Ed25519 key."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="front_end_machines")
    name = models.CharField(_("名称"), max_length=100)
    public_key = models.TextField(_("公钥"), help_text="Ed25519, base64 of the 32 raw bytes")
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_push_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="front_end_unique")]


class SourceDatabase(BaseModel):
    """A registered source database (源数据库, A1): an agency's database the platform may extract from, once
    the bureau of the agency's region has approved it. What the bureau approved is what is read: a source
    is never edited, only suspended and reinstated by the bureau, or registered anew."""

    class Kind(models.TextChoices):
        POSTGRESQL = "postgresql", "PostgreSQL"
        SQLITE = "sqlite", "SQLite"

    class Status(models.TextChoices):
        PENDING = "pending", _("待审核")
        APPROVED = "approved", _("已批准")
        REFUSED = "refused", _("未批准")
        WITHDRAWN = "withdrawn", _("已撤回")
        SUSPENDED = "suspended", _("已暂停")

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="source_databases",
                                     verbose_name=_("所属部门"))
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("数据库类型"), max_length=20, choices=Kind.choices)
    path = models.CharField(_("文件"), max_length=500, blank=True, help_text="SQLite: relative to GONGSHU_IMPORT_DIR")
    host = models.CharField(_("主机"), max_length=253, blank=True)
    port = models.PositiveIntegerField(_("端口"), null=True, blank=True)
    database = models.CharField(_("数据库名"), max_length=63, blank=True)
    user = models.CharField(_("用户名"), max_length=63, blank=True)
    password_sealed = models.TextField(blank=True, help_text="encrypted with the platform's master key")
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.PENDING)
    status_reason = models.TextField(_("说明"), blank=True)
    registered_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    case = models.OneToOneField("workflow.Case", null=True, on_delete=models.PROTECT, related_name="source_database")

    class Meta:
        verbose_name = _("源数据库")
        verbose_name_plural = _("源数据库")
        ordering = ["organisation", "name"]

    def __str__(self) -> str:
        return f"{self.name}（{self.location}）"

    @property
    def location(self) -> str:
        if self.kind == self.Kind.SQLITE:
            return f"SQLite：{self.path}"
        return f"PostgreSQL：{self.user}@{self.host}:{self.port}/{self.database}"


class SourceHostAllowlist(BaseModel):
    """A network the bureau allows PostgreSQL source databases in (A1): a source's host is checked by every
    address it resolves to, against the entries of the bureaus of the source's region and above."""

    region = models.ForeignKey("core.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("区域"))
    network = models.CharField(_("地址或网段"), max_length=64, help_text="an address or a CIDR network, normalised")
    note = models.CharField(_("说明"), max_length=200)
    added_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("源数据库主机白名单")
        verbose_name_plural = _("源数据库主机白名单")
        ordering = ["region", "network"]
        constraints = [models.UniqueConstraint(fields=["region", "network"], name="source_host_unique")]


class ExtractionSource(BaseModel):
    """Database extraction (A1): a table of an approved source database read on a schedule, fully or by a
    watermark column. Without a source database (a free connection string from before sources were
    registered) it needs re-registration and never runs."""

    class Mode(models.TextChoices):
        FULL = "full", _("全量")
        INCREMENTAL = "incremental", _("增量（按时间戳列）")

    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="extraction_sources")
    source_database = models.ForeignKey(SourceDatabase, null=True, on_delete=models.PROTECT, related_name="extractions",
                                        verbose_name=_("源数据库"))
    table = models.CharField(_("表"), max_length=128)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.FULL)
    watermark_column = models.CharField(_("时间戳列"), max_length=64, blank=True)
    watermark = models.CharField(max_length=64, blank=True)
    interval_minutes = models.PositiveIntegerField(_("抽取间隔（分钟）"), default=1440)
    last_run_at = models.DateTimeField(null=True, blank=True)


class Provenance(models.Model):
    """Where a column of a consolidated snapshot (a base database, A5) comes from."""

    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="provenance")
    column = models.CharField(max_length=64)
    source_resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="+")
    source_snapshot = models.ForeignKey(Snapshot, on_delete=models.PROTECT, related_name="+")
    source_item = models.CharField(max_length=64)

    class Meta:
        ordering = ["snapshot", "column"]


class GovernanceRequest(BaseModel):
    """A data-governance request (SYS Art. 17(3)): an agency asks its level's data bureau to govern data with
    it (duplicates, gaps, inconsistencies across agencies); the bureau plans the work, or declines with its
    reasons, and reports it done."""

    applicant = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="governance_requests",
                                  verbose_name=_("申请部门"))
    requested_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    subject = models.CharField(_("治理事项"), max_length=200)
    detail = models.TextField(_("问题与需求"))
    resources = models.ManyToManyField(Resource, blank=True, related_name="governance_requests", verbose_name=_("涉及目录"))
    case = models.OneToOneField("workflow.Case", null=True, on_delete=models.PROTECT, related_name="governance_request")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.subject
