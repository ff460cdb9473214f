import json

from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS = "0" * 64


class SequenceField(models.BigIntegerField):
    """An event's number and primary key. On SQLite it is declared INTEGER, so it is the table's rowid:
    an append writes the table alone, with no separate key index and no AUTOINCREMENT counter."""

    def db_type(self, connection):
        return "integer" if connection.vendor == "sqlite" else super().db_type(connection)


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("audit events are append-only")

    def delete(self):
        raise TypeError("audit events are append-only")


class Event(models.Model):
    """One link of the tamper-evident audit chain (SEC1, SEC2).

    ``hash`` = H(canonical JSON of every field below and ``prev_hash``), H = SM3 by default.
    The application has no update or delete path; the database refuses both with triggers.
    """

    class Outcome(models.TextChoices):
        OK = "ok", _("成功")
        REFUSED = "refused", _("拒绝")

    seq = SequenceField(_("序号"), primary_key=True)
    at = models.DateTimeField(_("时间"))
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_name = models.CharField(_("操作人"), max_length=150)
    organisation_id = models.BigIntegerField(null=True, blank=True)
    organisation_name = models.CharField(_("代表组织"), max_length=200, blank=True)
    channel = models.CharField(_("渠道"), max_length=10)
    action = models.CharField(_("操作"), max_length=100)  # no index: events are read by seq range, then by action
    object_type = models.CharField(_("对象类型"), max_length=60, blank=True)
    object_id = models.CharField(_("对象"), max_length=64, blank=True)
    summary = models.TextField(_("摘要"), default="{}", help_text="canonical JSON")
    outcome = models.CharField(_("结果"), max_length=10, choices=Outcome.choices, default=Outcome.OK)
    request_id = models.CharField(_("请求编号"), max_length=32, blank=True)
    algorithm = models.CharField(max_length=10)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)  # no index: events are found by seq; a random-key index costs every append a page

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计事件")
        verbose_name_plural = _("审计事件")
        ordering = ["seq"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("audit events are append-only")

    def __str__(self) -> str:
        shown = self.action_label
        return f"#{self.seq} {self.action}" if shown == self.action else f"#{self.seq} {shown}（{self.action}）"

    @property
    def data(self) -> dict:
        return json.loads(self.summary)

    @property
    def action_label(self) -> str:
        """The action's Chinese label from the vocabulary (``audit.actions``), for pages and exports."""
        from .actions import label

        return label(self.action)


class ChainHead(models.Model):
    """The single row that serialises appends and remembers the head (so a cut tail shows)."""

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS)
