import datetime as dt

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import BaseModel, Organisation, User

from . import engine


class Case(BaseModel):
    """One case of any type: its state, who must act, and by when."""

    number = models.CharField(_("编号"), max_length=40, unique=True, blank=True)
    case_type = models.CharField(_("类型"), max_length=40, db_index=True)
    subject_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    subject_id = models.CharField(max_length=64)
    subject = GenericForeignKey("subject_type", "subject_id")
    title = models.CharField(_("标题"), max_length=300)
    state = models.CharField(_("状态"), max_length=40)
    applicant = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="cases_opened", verbose_name=_("申请方"))
    assignee = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="cases_assigned", verbose_name=_("办理方")
    )
    # party name -> organisation id, fixed when the case is opened
    parties = models.JSONField(default=dict)
    # the same organisations as rows, so that each party finds its cases (open and closed) by an index
    party_organisations = models.ManyToManyField(Organisation, related_name="party_cases", blank=True)
    opened_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    state_entered_on = models.DateField(_("收到日期"))
    # the deadline: a day (working-day rules: due by the end of due_on) or, for an hour rule, the moment
    # due_at (wall clock), whose date due_on then also holds
    due_on = models.DateField(_("办理期限"), null=True, blank=True, db_index=True)
    due_at = models.DateTimeField(_("办理时限"), null=True, blank=True, db_index=True)
    deadline_rule = models.CharField(max_length=80, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    overdue_raised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("办件")
        verbose_name_plural = _("办件")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["subject_type", "subject_id"]), models.Index(fields=["assignee", "closed_at"])]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    def party(self, name: str) -> int | None:
        """The organisation id acting as ``name`` in this case (the applicant unless named otherwise)."""
        if name in self.parties:
            return self.parties[name]
        return self.applicant_id if name == "applicant" else None

    @property
    def due_moment(self) -> dt.datetime | None:
        """When the current step falls due: the hour deadline's moment, or the end of the due day."""
        if self.due_at is not None:
            return self.due_at
        if self.due_on is None:
            return None
        end = dt.datetime.combine(self.due_on + dt.timedelta(days=1), dt.time())
        return timezone.make_aware(end, timezone.get_default_timezone())

    @property
    def minutes_left(self) -> int | None:
        """For an hour deadline of an open case: minutes until it falls due (negative once overdue)."""
        if self.due_at is None or self.closed_at:
            return None
        return int((self.due_at - timezone.now()).total_seconds() // 60)

    @property
    def time_left(self) -> str:
        """An hour deadline's remaining time as a person reads it."""
        minutes = self.minutes_left
        if minutes is None:
            return ""
        if minutes < 0:
            return _("已逾期")
        hours, minutes = divmod(minutes, 60)
        return _("剩 %(h)d 小时 %(m)d 分钟") % {"h": hours, "m": minutes} if hours else _("剩 %(m)d 分钟") % {"m": minutes}

    @property
    def type(self) -> engine.CaseType:
        return engine.case_type(self.case_type)

    @property
    def state_def(self) -> engine.State:
        return self.type.state(self.state)

    @property
    def state_label(self) -> str:
        return self.state_def.label

    @property
    def deadline_citation(self) -> str:
        from foundation import rulebook

        return rulebook.rule(self.deadline_rule).article if self.deadline_rule else ""


class CaseStep(models.Model):
    """One entry of a case's timeline."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="steps")
    transition = models.CharField(max_length=40)
    label = models.CharField(max_length=100)
    from_state = models.CharField(max_length=40, blank=True)
    to_state = models.CharField(max_length=40)
    actor = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    actor_name = models.CharField(max_length=150)
    organisation = models.ForeignKey(Organisation, null=True, on_delete=models.PROTECT, related_name="+")
    comment = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)
    due_on = models.DateField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    audit_seq = models.BigIntegerField(null=True)

    class Meta:
        ordering = ["at", "pk"]

    @property
    def to_label(self) -> str:
        return engine.case_type(self.case.case_type).state(self.to_state).label
