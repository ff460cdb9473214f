from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tasks_db.models import DBTaskResult


class JobProgress(models.Model):
    """How far a running job is: ``done`` of ``total`` steps and what it is doing (the job library's record,
    ``DBTaskResult``, keeps state, attempts and the last error, but no progress)."""

    result = models.OneToOneField(DBTaskResult, primary_key=True, on_delete=models.CASCADE, related_name="progress")
    done = models.PositiveIntegerField(_("已完成"), default=0)
    total = models.PositiveIntegerField(_("总数"), default=0)
    message = models.CharField(_("说明"), max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = _("作业进度")

    @property
    def percent(self) -> int:
        return int(100 * min(self.done, self.total) / self.total) if self.total else 0


class ScheduledJob(models.Model):
    """One row per scheduled job: when the schedule last enqueued it, and that run's record, so that a due
    job is enqueued once (by whichever worker looks first) and not again while that run waits or runs."""

    name = models.CharField(max_length=100, primary_key=True)
    enqueued_at = models.DateTimeField(null=True)
    result = models.ForeignKey(DBTaskResult, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = verbose_name_plural = _("定时作业")
