from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import BaseModel, Organisation, Region, User
from grading.models import Category, Grade


class IndustryCategory(models.TextChoices):
    """GB/T 4754-2017 sections (行业分类门类)."""

    A = "A", _("农、林、牧、渔业")
    B = "B", _("采矿业")
    C = "C", _("制造业")
    D = "D", _("电力、热力、燃气及水生产和供应业")
    E = "E", _("建筑业")
    F = "F", _("批发和零售业")
    G = "G", _("交通运输、仓储和邮政业")
    H = "H", _("住宿和餐饮业")
    I = "I", _("信息传输、软件和信息技术服务业")  # noqa: E741
    J = "J", _("金融业")
    K = "K", _("房地产业")
    L = "L", _("租赁和商务服务业")
    M = "M", _("科学研究和技术服务业")
    N = "N", _("水利、环境和公共设施管理业")
    O = "O", _("居民服务、修理和其他服务业")  # noqa: E741
    P = "P", _("教育")
    Q = "Q", _("卫生和社会工作")
    R = "R", _("文化、体育和娱乐业")
    S = "S", _("公共管理、社会保障和社会组织")
    T = "T", _("国际组织")


class Resource(BaseModel):
    """A catalog entry (公共数据资源目录), every field of SYS Art. 12 (C1)."""

    class DataFormat(models.TextChoices):
        TABLE = "table", _("数据库表")
        FILE = "file", _("电子文件")
        API = "api", _("接口")
        SPATIAL = "spatial", _("地理空间数据")
        OTHER = "other", _("其他")

    class UpdateFrequency(models.TextChoices):
        REALTIME = "realtime", _("实时")
        DAILY = "daily", _("每日")
        WEEKLY = "weekly", _("每周")
        MONTHLY = "monthly", _("每月")
        QUARTERLY = "quarterly", _("每季度")
        YEARLY = "yearly", _("每年")
        IRREGULAR = "irregular", _("不定期")

    class ShareType(models.TextChoices):
        UNCONDITIONAL = "unconditional", _("无条件共享")
        CONDITIONAL = "conditional", _("有条件共享")
        NOT_SHARED = "not_shared", _("不予共享")

    class ShareMethod(models.TextChoices):
        API = "api", _("接口")
        FILE = "file", _("文件")
        DB_SYNC = "db_sync", _("库表同步")

    class OpenType(models.TextChoices):
        UNCONDITIONAL = "unconditional", _("无条件开放")
        CONDITIONAL = "conditional", _("有条件开放")
        NOT_OPEN = "not_open", _("不予开放")

    class OperationStatus(models.TextChoices):
        NONE = "none", _("未纳入授权运营")
        IN_SCOPE = "in_scope", _("纳入授权运营范围")
        OPERATING = "operating", _("授权运营中")

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        IN_REVIEW = "in_review", _("审核中")
        RETURNED = "returned", _("退回修改")
        PUBLISHED = "published", _("已发布")

    code = models.CharField(_("目录编码"), max_length=40, unique=True)
    name = models.CharField(_("数据资源名称"), max_length=200)
    summary = models.TextField(_("数据资源摘要"), blank=True)
    data_format = models.CharField(_("数据格式"), max_length=20, choices=DataFormat.choices, blank=True)
    industry_category = models.CharField(_("行业分类"), max_length=2, choices=IndustryCategory.choices, blank=True)
    temporal_start = models.DateField(_("数据覆盖时间（起）"), null=True, blank=True)
    temporal_end = models.DateField(_("数据覆盖时间（止）"), null=True, blank=True)
    spatial_coverage = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("数据覆盖地域"))
    update_frequency = models.CharField(_("更新频率"), max_length=20, choices=UpdateFrequency.choices, blank=True)
    provider = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="resources", verbose_name=_("数据资源提供方"))
    share_type = models.CharField(_("共享类型"), max_length=20, choices=ShareType.choices, default=ShareType.UNCONDITIONAL)
    share_conditions = models.TextField(_("共享条件"), blank=True)
    share_methods = models.JSONField(_("共享方式"), default=list, blank=True)
    open_type = models.CharField(_("开放类型"), max_length=20, choices=OpenType.choices, default=OpenType.NOT_OPEN)
    open_conditions = models.TextField(_("开放条件"), blank=True)
    operation_status = models.CharField(_("授权运营状态"), max_length=20, choices=OperationStatus.choices, default=OperationStatus.NONE)
    operation_scenarios = models.TextField(_("授权运营应用场景"), blank=True)
    legal_basis = models.TextField(_("法律法规依据"), blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("数据分类"))
    grade = models.ForeignKey(
        Grade, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("数据分级"),
        help_text=_("在用分级：已发布版本中最敏感数据项的分级"),
    )
    change_reason = models.TextField(_("变更理由"), blank=True)
    # C6 mounting: set by the warehouse when a snapshot of the data is published for this entry.
    mounted_at = models.DateTimeField(_("挂载时间"), null=True, blank=True)
    mount_ref = models.CharField(_("挂载数据"), max_length=100, blank=True)
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    version = models.PositiveIntegerField(_("当前版本"), default=0)
    published_version = models.PositiveIntegerField(_("已发布版本"), null=True, blank=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("数据资源")
        verbose_name_plural = _("数据资源")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"/catalog/{self.pk}/"

    @property
    def open_to_society(self) -> bool:
        return self.open_type != self.OpenType.NOT_OPEN

    @property
    def share_methods_display(self) -> str:
        labels = dict(self.ShareMethod.choices)
        return "、".join(str(labels.get(m, m)) for m in self.share_methods or [])

    @property
    def provider_name(self) -> str:
        return self.provider.name

    @property
    def provider_code(self) -> str:
        return self.provider.uscc or ""


class DataItem(models.Model):
    """A data item (数据项) of a resource: its name and format (SYS Art. 12)."""

    class DataType(models.TextChoices):
        STRING = "string", _("字符型")
        INTEGER = "integer", _("整数型")
        DECIMAL = "decimal", _("数值型")
        DATE = "date", _("日期型")
        DATETIME = "datetime", _("日期时间型")
        BOOLEAN = "boolean", _("布尔型")

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(_("数据项名称"), max_length=100)
    column = models.CharField(_("字段名"), max_length=64)
    data_type = models.CharField(_("数据项格式"), max_length=20, choices=DataType.choices, default=DataType.STRING)
    length = models.PositiveIntegerField(_("长度"), null=True, blank=True)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    is_key = models.BooleanField(_("主键"), default=False)
    required = models.BooleanField(_("必填"), default=False)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("数据分类"))
    grade = models.ForeignKey(Grade, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("数据分级"))
    # The grade in force: the working grade becomes it when the entry is published (a re-grade is reviewed).
    published_grade = models.ForeignKey(Grade, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("在用分级"))
    sensitivity = models.CharField(_("敏感类型"), max_length=30, blank=True)
    # C5 one datum, one source: the SYS Art. 16 data type this item is, and its source agency.
    source_type = models.CharField(_("基础数据类型"), max_length=40, blank=True)
    source_agency = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="sourced_items", verbose_name=_("数源部门")
    )

    class Meta:
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["resource", "column"], name="item_column_unique")]

    def __str__(self) -> str:
        return self.name


class ResourceDraft(BaseModel):
    """The working copy of an entry (C2, SYS Art. 13): the provider's edits, frozen into a version when
    submitted and written to the live entry only when its review publishes it. The live ``Resource`` and
    its ``DataItem`` rows hold the published version, which is what every other party sees and relies on;
    only the provider and its reviewers read this."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        IN_REVIEW = "in_review", _("审核中")
        RETURNED = "returned", _("退回修改")

    resource = models.OneToOneField(Resource, on_delete=models.CASCADE, related_name="draft")
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    fields = models.JSONField(default=dict)  # EDITABLE_FIELDS; category as its code, dates ISO, places as ids
    items = models.JSONField(default=list)  # as catalog.services._item_dicts
    updated_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("目录草稿")
        verbose_name_plural = _("目录草稿")


class ResourceVersion(models.Model):
    """An immutable copy of an entry as submitted; every version is kept (C2)."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    data = models.JSONField()
    created_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    case = models.ForeignKey("workflow.Case", null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["resource", "number"]
        constraints = [models.UniqueConstraint(fields=["resource", "number"], name="version_unique")]


class SearchTerm(models.Model):
    """The Chinese search index: character bigrams (and Latin words) of an entry, weighted by field."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="+")
    term = models.CharField(max_length=40)
    weight = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["term", "resource"], name="search_term_unique")]


class ListEntry(BaseModel):
    """An entry of a curated list (C4); the derived lists are computed from the catalog."""

    class Kind(models.TextChoices):
        DEMAND = "demand", _("共享需求清单")
        RESPONSIBILITY = "responsibility", _("共享责任清单")
        NEGATIVE = "negative", _("负面清单")
        OPEN_RESPONSIBILITY = "open_responsibility", _("开放责任清单")
        OPEN_PRIORITY = "open_priority", _("年度开放重点清单")

    kind = models.CharField(_("清单"), max_length=30, choices=Kind.choices)
    year = models.PositiveSmallIntegerField(_("年度"))
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("责任单位"))
    resource = models.ForeignKey(Resource, null=True, blank=True, on_delete=models.PROTECT, related_name="list_entries")
    title = models.CharField(_("事项"), max_length=200)
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        ordering = ["kind", "year", "organisation__name", "title"]


class Project(BaseModel):
    """A budget-funded information-system project (C3, SYS Art. 14): files its catalog at approval and
    updates it, with the data aggregated, before acceptance."""

    class Funding(models.TextChoices):
        BUDGET = "budget", _("财政性资金建设")
        PURCHASE = "purchase", _("政府购买服务")

    class Status(models.TextChoices):
        APPROVED = "approved", _("已立项")
        ACCEPTED = "accepted", _("已验收")

    name = models.CharField(_("项目名称"), max_length=200)
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="projects", verbose_name=_("建设单位"))
    funding = models.CharField(_("资金性质"), max_length=20, choices=Funding.choices, default=Funding.BUDGET)
    approved_on = models.DateField(_("立项日期"))
    accepted_on = models.DateField(_("验收日期"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.APPROVED)
    resources = models.ManyToManyField(Resource, related_name="projects", verbose_name=_("涉及的数据资源"))

    class Meta:
        verbose_name = _("信息化项目")
        verbose_name_plural = _("信息化项目")
        ordering = ["-approved_on", "name"]

    def __str__(self) -> str:
        return self.name


class GradeSuggestion(BaseModel):
    """A sensitive-data discovery result (G4) for one column, for the data officer to confirm or reject."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待确认")
        CONFIRMED = "confirmed", _("已确认")
        REJECTED = "rejected", _("已驳回")

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="suggestions")
    column = models.CharField(_("列"), max_length=100)
    sensitivity = models.CharField(_("敏感类型"), max_length=30)
    share = models.FloatField(_("命中比例"))
    matched = models.PositiveIntegerField()
    non_empty = models.PositiveIntegerField()
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    grade = models.ForeignKey(Grade, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["resource", "column"]

    def get_sensitivity_label(self) -> str:
        from grading.scheme import sensitivity_types

        found = sensitivity_types().get(self.sensitivity)
        return found.label if found else self.sensitivity
