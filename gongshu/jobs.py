"""Background work as jobs with records (django-tasks on its database backend, django-tasks-db).

Every run of a job, queued by a user's act (a web upload) or by the schedule, is a record in the metadata
database: its state (queued, running, done, failed, waiting for a retry), its attempts, its last error, its
summary (what the job returns) and, for long ones, its progress (``progress(done, total, message)``). A job
that fails is tried again after a back-off that doubles (rule ``jobs.backoff_seconds``, 2x, 4x…) until it has been
tried ``jobs.attempts`` times. Each job is idempotent: it looks for its work and claims it, so a second run (a
retry, another worker, ``worker --once`` beside a running worker) finds nothing left to do.

``SCHEDULE`` is the one place that says which jobs run by themselves and how often (an interval from the
settings); ``gongshu worker`` enqueues each due job once and runs what is ready, most urgent first (uploads
before the schedule, the audit checkpoint last). ``gongshu jobs`` and the bureau's page ``/jobs/`` list the
records."""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
import logging
import os
import socket
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import SuspiciousOperation
from django.db import OperationalError
from django.db.models import F, Q, QuerySet
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, TaskResultStatus
from django_tasks.base import Task
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception, retry

from foundation import rulebook
from gongshu.jobrecords.models import JobProgress, ScheduledJob

# How often a failing job is tried in all, the first back-off, and how long finished job records are kept:
# rules jobs.attempts, jobs.backoff_seconds, jobs.keep_days (platform defaults), unless a job says otherwise.


def keep_days() -> int:
    return int(rulebook.value("jobs.keep_days"))

logger = logging.getLogger(__name__)
_running: contextvars.ContextVar[str | None] = contextvars.ContextVar("gongshu_job", default=None)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Job(Task):
    """A django-tasks task with what the worker needs besides: a label for people, how often to try it, and
    whether a run that did nothing is worth a line of the worker's output. Calling it runs it here and now,
    without a record (for tests and the CLI); ``enqueue()`` makes a record the worker runs."""

    label: str = ""
    attempts: int | None = None  # None: rule jobs.attempts
    backoff: float | None = None  # None: rule jobs.backoff_seconds
    quiet: bool = False  # a run that did nothing ("0 …") is not reported
    every: str = ""  # in SCHEDULE: the setting that holds the interval in seconds

    def __call__(self, *args, **kwargs):
        return self.func(*args, **kwargs)

    @property
    def tries(self) -> int:
        return self.attempts if self.attempts is not None else int(rulebook.value("jobs.attempts"))

    @property
    def first_wait(self) -> float:
        return self.backoff if self.backoff is not None else float(rulebook.value("jobs.backoff_seconds"))

    @property
    def interval(self) -> dt.timedelta:
        return dt.timedelta(seconds=getattr(settings, self.every))


def job(*, label, priority: int = 0, attempts: int | None = None, backoff: float | None = None, quiet: bool = False):
    def declare(func) -> Job:
        return Job(func=func, label=label, priority=priority, attempts=attempts, backoff=backoff, quiet=quiet,
                   backend=DEFAULT_TASK_BACKEND_ALIAS, run_after=None)
    return declare


def every(setting: str, declared: Job) -> Job:
    return dataclasses.replace(declared, every=setting)


def progress(done: int, total: int, message: str = "") -> None:
    """A running job says how far it is (its record shows it); outside a job's run, nothing happens."""
    result_id = _running.get()
    if result_id is not None:
        JobProgress.objects.update_or_create(result_id=result_id, defaults={
            "done": max(0, done), "total": max(0, total), "message": str(message)[:200]})


# --- the jobs --------------------------------------------------------------------------------------------
# Each looks for its own work (a claim, a "not yet done" filter, a throttle), so running it twice is harmless.
# A job that acts does so as the platform's named scheduler (P2, SEC1): it holds only the permissions its
# jobs need and passes no transition check that does not name it; its audit events name it. The misuse
# monitor's jobs act as the bureau's monitor (sharing.services.machine_monitor). Not as the scheduler: the
# audit checkpoint, the platform's own signature (``audit.services.checkpoint`` requires the platform, as at
# the console); the refusal counts, recorded as the refused callers nobody knew (core.auth); the copy of the
# usage log and the pruning of job records, which record no act.


def scheduler():
    """The actor of the scheduled work (``platform_scheduler``, 平台定时任务)."""
    from foundation.actor import platform_actor
    from foundation.roles import PLATFORM_SCHEDULER

    return platform_actor(PLATFORM_SCHEDULER)


@job(label=_("文件上传：检查并发布"), priority=10)
def run_upload(batch_id: int) -> str:
    """A web upload (A1), enqueued when it is queued; the batch page shows the same stages."""
    from warehouse.models import Batch
    from warehouse.services import run_queued_upload

    labels = {"reading": _("读取文件"), "checking": _("质量检查"), "writing": _("写入快照"), "publishing": _("发布")}

    def stage(name):
        progress(Batch.STAGES.index(name), len(Batch.STAGES), labels.get(name, name))

    if not run_queued_upload(batch_id, progress=stage):
        return f"0 uploads checked: batch {batch_id} is no longer queued"
    status = Batch.objects.filter(pk=batch_id).values_list("status", flat=True).first()
    return f"1 upload checked: batch {batch_id} {status}"


def upload_queued(sender, instance, created, raw=False, **kwargs) -> None:
    """post_save of a batch (connected by the jobrecords app): a batch created queued is a web upload waiting
    for the worker; its job is enqueued in the same transaction."""
    if created and not raw and instance.status == instance.Status.QUEUED:
        run_upload.enqueue(instance.pk)


@job(label=_("排队上传补查"), quiet=True)
def run_uploads() -> str:
    """Queued uploads whose own job is gone (queued before jobs had records, or given up): run oldest first."""
    from warehouse.services import run_queued_uploads

    return f"{run_queued_uploads()} upload(s) checked"


@job(label=_("定时库表抽取"))
def run_extractions() -> str:
    from warehouse.services import run_due_extractions

    return f"{run_due_extractions(scheduler())} extraction(s) run"  # each due once: last_run_at moves


@job(label=_("基础库更新"))
def refresh_bases() -> str:
    from warehouse.bases import refresh

    return f"{len(refresh(scheduler()))} base database(s) rebuilt from newer sources"  # only when newer


@job(label=_("逾期案件上报"))
def raise_overdue() -> str:
    from workflow.services import raise_overdue_cases

    return f"{len(raise_overdue_cases(scheduler()))} overdue case(s) raised"  # once per step


@job(label=_("数据更新超期提醒"))
def flag_stale_data() -> str:
    from warehouse.services import flag_stale_data

    return f"{flag_stale_data(scheduler())} stale resource(s) flagged"  # once each time it goes stale


@job(label=_("使用日志到期清理"))
def purge_usage_logs() -> str:
    from warehouse.services import purge_usage_logs

    return f"{purge_usage_logs(scheduler())} usage log(s) past retention removed"


@job(label=_("共享使用监测"))
def review_grant_use() -> str:
    from sharing.services import review_grant_use

    counts = review_grant_use()  # a grant under rectification is not looked at again
    return f"{counts['opened']} rectification(s) opened, {counts['suspended']} grant(s) suspended, {counts['terminated']} terminated"


@job(label=_("共享授权到期"))
def expire_grants() -> str:
    from sharing.services import expire_grants

    return f"{expire_grants(scheduler())} grant(s) past their end date expired"


@job(label=_("有条件共享定期评估"))
def reevaluate_conditional_entries() -> str:
    from sharing.services import reevaluate_conditional_entries

    return f"{reevaluate_conditional_entries()} conditional entr(ies) put up for re-evaluation"  # not while one is open


@job(label=_("使用日志复制"), quiet=True)
def copy_usage_logs() -> str:
    from warehouse.usage import catch_up

    return f"{catch_up()} usage log row(s) copied from the audit chain"  # exactly once, whoever copies first


@job(label=_("审计链签名检查点"), priority=-10)  # after the other ready jobs: it signs the head they extended
def checkpoint_audit() -> str:
    from audit.services import checkpoint_if_due
    from foundation.actor import system_actor
    from foundation.errors import GongshuError

    try:
        written = checkpoint_if_due(system_actor("system"))  # throttled by the rulebook's audit.checkpoint_minutes
    except GongshuError as exc:  # audited as a refusal; verify fails until someone looks
        return f"checkpoint REFUSED: {exc.message}"
    if written is None:
        return "0 checkpoints due"
    return f"checkpoint #{written.head()[0]} signed -> {written.path}"


@job(label=_("中断批次退回"))
def fail_stale_batches() -> str:
    from warehouse.services import fail_stale_batches

    return f"{len(fail_stale_batches(scheduler()))} interrupted batch(es) refused"  # only if not moved


@job(label=_("拒绝次数审计"), quiet=True)
def audit_refusals() -> str:
    from core.auth import audit_refusals

    return f"{audit_refusals()} refusal count(s) audited"  # each count taken once, in the transaction


@job(label=_("快照重新加密"))
def encrypt_pending() -> str:
    from warehouse.regrade import encrypt_pending

    return f"{encrypt_pending(scheduler())} snapshot(s) re-encrypted after a re-grade"  # clear ones only


@job(label=_("作业记录清理"), quiet=True)
def prune_job_records() -> str:
    days = keep_days()
    cutoff = timezone.now() - dt.timedelta(days=days)
    finished = DBTaskResult.objects.filter(status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED],
                                           finished_at__lt=cutoff)
    _, removed = finished.delete()  # with their progress
    return f"{removed.get(DBTaskResult._meta.label, 0)} job record(s) older than {days} days removed"


_SLOW, _CATCH_UP = "GONGSHU_WORKER_INTERVAL", "GONGSHU_WORKER_CATCH_UP_SECONDS"
SCHEDULE = [  # (name, job), each enqueued when its interval (a setting, in seconds) has passed since the last
    ("run_extractions", every(_SLOW, run_extractions)),
    ("refresh_bases", every(_SLOW, refresh_bases)),
    ("raise_overdue", every(_SLOW, raise_overdue)),
    ("flag_stale_data", every(_SLOW, flag_stale_data)),
    ("purge_usage_logs", every(_SLOW, purge_usage_logs)),
    ("review_grant_use", every(_SLOW, review_grant_use)),
    ("expire_grants", every(_SLOW, expire_grants)),
    ("reevaluate_conditional_entries", every(_SLOW, reevaluate_conditional_entries)),
    ("encrypt_pending", every(_SLOW, encrypt_pending)),
    ("fail_stale_batches", every(_SLOW, fail_stale_batches)),
    ("run_uploads", every(_SLOW, run_uploads)),
    ("prune_job_records", every(_SLOW, prune_job_records)),
    ("copy_usage_logs", every(_CATCH_UP, copy_usage_logs)),
    ("audit_refusals", every(_CATCH_UP, audit_refusals)),
    ("checkpoint_audit", every(_SLOW, checkpoint_audit)),  # runs last of those ready (its priority)
]
QUEUED = [("run_upload", run_upload)]  # enqueued by a user's act: a web upload (upload_queued)
JOBS = dict(SCHEDULE + QUEUED)


# --- the worker ------------------------------------------------------------------------------------------


class Interrupted(Exception):
    """The worker running the job stopped (killed, restarted) before the job ended."""


LOST_AFTER = dt.timedelta(hours=24)  # the platform's choice: a run "running" longer was lost with its worker


def _pending(now: dt.datetime, prefix: str = "") -> Q:
    """A run that waits (or waits for its retry) or runs: the schedule does not add another. One that has
    been running for LOST_AFTER went with a worker that never came back: another run may start."""
    return Q(**{f"{prefix}status": TaskResultStatus.READY}) | Q(
        **{f"{prefix}status": TaskResultStatus.RUNNING, f"{prefix}started_at__gt": now - LOST_AFTER})


def worker_id() -> str:
    """This process, as the job records name it (host:pid): a later worker on this host can tell that a job
    left running was interrupted."""
    return f"{socket.gethostname()[:50]}:{os.getpid()}"


def enqueue_due(*, force: bool = False, now: dt.datetime | None = None) -> list[str]:
    """The schedule: each job whose interval has passed since it was last enqueued (with ``force``: each
    job) is enqueued, once — not while its last run waits or runs, and not by two workers looking at once.
    Returns the names enqueued."""
    now = now or timezone.now()
    pending = set(ScheduledJob.objects.filter(_pending(now, "result__")).values_list("name", flat=True))
    last = dict(ScheduledJob.objects.values_list("name", "enqueued_at"))

    def due(name, scheduled):
        return name not in pending and (force or last.get(name) is None or last[name] + scheduled.interval <= now)

    if not any(due(name, scheduled) for name, scheduled in SCHEDULE):
        return []  # the usual poll: one read, no write
    enqueued = []
    with exclusive_transaction():
        ScheduledJob.objects.bulk_create([ScheduledJob(name=name) for name, _ in SCHEDULE], ignore_conflicts=True)
        locked = {row.name: row for row in ScheduledJob.objects.select_for_update().filter(name__in=JOBS)}
        pending = set(DBTaskResult.objects.filter(_pending(now), pk__in=[row.result_id for row in locked.values()
                                                                         if row.result_id]).values_list("pk", flat=True))
        pending = {name for name, row in locked.items() if row.result_id in pending}
        last = {name: row.enqueued_at for name, row in locked.items()}  # as another worker may have left them
        for name, scheduled in SCHEDULE:
            if due(name, scheduled):
                result = scheduled.enqueue()
                ScheduledJob.objects.filter(name=name).update(enqueued_at=now, result_id=result.id)
                enqueued.append(name)
    return enqueued


def run_each_ready(worker: str | None = None) -> Iterator[DBTaskResult]:
    """Run every job that is ready (its run_after passed), most urgent first, each claimed by this worker;
    yields each record as its run ends (done, failed, or waiting for a retry)."""
    worker = worker or worker_id()
    while (record := _claim(worker)) is not None:
        yield _run(record)


def run_ready(worker: str | None = None) -> list[DBTaskResult]:
    return list(run_each_ready(worker))


def _claim(worker: str) -> DBTaskResult | None:
    ready = DBTaskResult.objects.ready().filter(backend_name=DEFAULT_TASK_BACKEND_ALIAS)
    if not ready.exists():
        return None  # the usual poll: one read, no write lock
    try:
        with exclusive_transaction(ready.db):
            record = ready.get_locked()
            if record is not None:
                record.claim(worker)
            return record
    except OperationalError as exc:
        if is_locked_database_exception(exc):
            return None  # another writer holds the database: the next poll tries again
        raise


def _run(record: DBTaskResult) -> DBTaskResult:
    """One attempt: the library's record says running, then done with the summary, or failed with the error
    (and the retry policy decides whether it waits for another attempt)."""
    try:
        task = record.task
    except (ImportError, SuspiciousOperation) as exc:  # a job removed or renamed since it was queued: not retried
        record.set_failed(exc)
        return record
    token = _running.set(str(record.pk))
    try:
        result = record.task_result
        summary = task.call(*result.args, **result.kwargs)
        _succeeded(record, summary)
        JobProgress.objects.filter(result=record).update(done=F("total"))
    except Exception as exc:  # a KeyboardInterrupt or SystemExit stops the worker: the next one resumes the job
        logger.warning("job %s (%s) failed", record.task_name, record.pk, exc_info=True)
        record.set_failed(exc)
        _retry_later(record, task)
    finally:
        _running.reset(token)
    return record


@retry()
def _succeeded(record: DBTaskResult, summary) -> None:
    """As the library's ``set_successful``, but an earlier attempt's error stays on the record as its last error."""
    record.status, record.finished_at, record.return_value = TaskResultStatus.SUCCESSFUL, timezone.now(), summary
    record.save(update_fields=["status", "finished_at", "return_value"])


def _retry_later(record: DBTaskResult, task: Task) -> None:
    """A failed attempt with attempts left waits BACKOFF, 2x, 4x… and is ready again; its error stays on the
    record as the last error. Out of attempts, the record stays failed."""
    attempts = len(record.worker_ids)
    if not isinstance(task, Job) or attempts >= task.tries:
        return
    run_after = timezone.now() + dt.timedelta(seconds=task.first_wait * 2 ** (attempts - 1))
    if DBTaskResult.objects.filter(pk=record.pk, status=TaskResultStatus.FAILED).update(
            status=TaskResultStatus.READY, run_after=run_after, finished_at=None):
        record.status, record.run_after, record.finished_at = TaskResultStatus.READY, run_after, None


def recover_interrupted() -> list[DBTaskResult]:
    """At a worker's start: jobs left running by a worker of this host that is no longer alive failed that
    attempt (Interrupted) and are retried like any failure. Returns their records."""
    host = socket.gethostname()[:50]
    recovered = []
    for record in DBTaskResult.objects.running():
        name, _, pid = (record.worker_ids[-1] if record.worker_ids else "").rpartition(":")
        if name != host or not pid.isdigit() or _alive(int(pid)):
            continue
        if not DBTaskResult.objects.filter(pk=record.pk, status=TaskResultStatus.RUNNING).update(
                status=TaskResultStatus.FAILED):
            continue  # another worker of this host did it
        record.set_failed(Interrupted(f"作业运行中处理进程已停止（{record.worker_ids[-1]}）"))
        try:
            _retry_later(record, record.task)
        except (ImportError, SuspiciousOperation):
            pass
        recovered.append(record)
    return recovered


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- what the records say (the CLI and the page) ---------------------------------------------------------


@dataclasses.dataclass
class Row:
    record: DBTaskResult
    name: str
    label: str
    state: str
    attempts: int
    max_attempts: int
    summary: str
    last_error: str
    progress: JobProgress | None
    batch_id: int | None = None  # an upload's job: its batch page shows the same progress

    @property
    def retrying(self) -> bool:
        return self.record.status == TaskResultStatus.READY and self.attempts > 0

    @property
    def running(self) -> bool:
        return self.record.status == TaskResultStatus.RUNNING


STATES = {TaskResultStatus.READY: _("排队中"), TaskResultStatus.RUNNING: _("运行中"),
          TaskResultStatus.SUCCESSFUL: _("已完成"), TaskResultStatus.FAILED: _("失败")}


def row(record: DBTaskResult) -> Row:
    name = record.task_path.rsplit(".", 1)[-1]
    declared = _declared(record)
    attempts = len(record.worker_ids)
    state = _("等待重试") if record.status == TaskResultStatus.READY and attempts else STATES.get(record.status, record.status)
    lines = [line for line in record.traceback.strip().splitlines() if line.strip()]
    try:
        shown = record.progress
    except JobProgress.DoesNotExist:
        shown = None
    return Row(record=record, name=name, label=str(declared.label) if declared else name, state=str(state),
               attempts=attempts, max_attempts=declared.tries if declared else 1,
               summary=record.return_value if isinstance(record.return_value, str) else "",
               last_error=lines[-1] if lines else "", progress=shown,
               batch_id=(record.args_kwargs.get("args") or [None])[0] if name == "run_upload" else None)


def _declared(record: DBTaskResult) -> Job | None:
    try:
        declared = record.task
    except (ImportError, SuspiciousOperation):  # a job removed or renamed since
        return None
    return declared if isinstance(declared, Job) else None


def records(*, state: str | None = None, name: str | None = None) -> QuerySet:
    """Job records, newest first (with their progress)."""
    qs = DBTaskResult.objects.select_related("progress").order_by("-enqueued_at")
    if state:
        qs = qs.filter(status=state)
    if name:
        qs = qs.filter(task_path__endswith=f".{name}")
    return qs


def visible_records(actor, **filters) -> QuerySet:
    """The records for the platform's bureau (``jobs.view`` in a top-level region): they concern the whole
    platform. Anybody else is refused."""
    from foundation import permissions
    from foundation.errors import PermissionDenied

    permissions.require(actor, "jobs.view")
    if not actor.is_system and (actor.organisation is None or actor.organisation.region.parent_id is not None):
        raise PermissionDenied("后台作业记录仅供平台主管部门查看", code="forbidden")
    return records(**filters)


def report(record: DBTaskResult) -> str | None:
    """The worker's line for a run that ended (None for a quiet job that found nothing to do)."""
    shown = row(record)
    if record.status == TaskResultStatus.SUCCESSFUL:
        declared = _declared(record)
        if declared is not None and declared.quiet and shown.summary.startswith("0 "):
            return None
        return f"{shown.name}: {shown.summary}"
    if shown.retrying:
        return (f"{shown.name}: FAILED (attempt {shown.attempts} of {shown.max_attempts}), tried again after "
                f"{timezone.localtime(record.run_after):%H:%M:%S}: {shown.last_error}")
    return f"{shown.name}: FAILED after {shown.attempts} attempt(s): {shown.last_error}"


def lines(rows: Iterable[Row]) -> Iterable[str]:
    """``gongshu jobs``: one line per record."""
    for r in rows:
        at = timezone.localtime(r.record.enqueued_at)
        done = f" {r.progress.done}/{r.progress.total} {r.progress.message}" if r.progress and r.progress.total else ""
        tail = r.last_error if r.record.status != TaskResultStatus.SUCCESSFUL else r.summary
        yield (f"{at:%Y-%m-%d %H:%M:%S}  {r.name:<30} {r.record.status:<10} attempts {r.attempts}/{r.max_attempts}"
               f"{done}  {tail}").rstrip()


@login_required
def jobs_page(request):
    """The bureau's list of background jobs: state, progress of the running ones, attempts, last error."""
    from foundation.viewkit import actor_of

    actor = actor_of(request)
    state = request.GET.get("state") if request.GET.get("state") in TaskResultStatus.values else None
    rows = [row(record) for record in visible_records(actor, state=state)[:200]]
    return render(request, "jobs.html", {
        "rows": rows, "state": state, "states": [(value, STATES[value]) for value in TaskResultStatus.values],
        "active": any(r.running or r.record.status == TaskResultStatus.READY and not r.retrying for r in rows),
    })
