from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import BaseModel


class Grade(BaseModel):
    """A grade of the scheme (G1) and the protection bound to it, read from this one place by storage,
    the query path, exports and logging."""

    class Access(models.TextChoices):
        OPEN = "open", _("可向社会开放")
        GRANT = "grant", _("凭授权使用")
        GRANT_WITH_APPROVAL = "grant_with_approval", _("凭授权并经提供方审批")
        SANDBOX_ONLY = "sandbox_only", _("仅可在可信环境内使用")

    class Masking(models.TextChoices):
        NONE = "none", _("不脱敏")
        PARTIAL = "partial", _("部分遮盖")
        GENERALISE = "generalise", _("泛化")
        HASH = "hash", _("加盐哈希")
        DROP = "drop", _("不输出")

    class Export(models.TextChoices):
        ALLOWED = "allowed", _("允许导出")
        APPROVAL = "approval", _("经审批导出")
        PROHIBITED = "prohibited", _("禁止导出")

    class LogDetail(models.TextChoices):
        SUMMARY = "summary", _("摘要")
        FULL = "full", _("完整（含数据项和记录键）")

    code = models.CharField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    level = models.PositiveSmallIntegerField(_("级别"), unique=True, help_text=_("数字越大越敏感"))
    encrypt_at_rest = models.BooleanField(_("加密存储"))
    access = models.CharField(_("访问控制"), max_length=30, choices=Access.choices)
    masking = models.CharField(_("输出脱敏"), max_length=20, choices=Masking.choices)
    export = models.CharField(_("导出规则"), max_length=20, choices=Export.choices)
    log_detail = models.CharField(_("日志详细程度"), max_length=20, choices=LogDetail.choices)

    class Meta:
        verbose_name = _("数据分级")
        verbose_name_plural = _("数据分级")
        ordering = ["-level"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_important_or_core(self) -> bool:
        from .scheme import important_grade_codes

        return self.code in important_grade_codes()


class Category(BaseModel):
    """A category of the classification tree (G1)."""

    code = models.CharField(_("代码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")

    class Meta:
        verbose_name = _("数据分类")
        verbose_name_plural = _("数据分类")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
