"""Background work as jobs with records (issue 13 item 8): every run of a queued or scheduled job is a record
with its state, progress, attempts and last error; a failure is retried with back-off; the schedule enqueues
each due job once; `gongshu worker` runs them (a web upload end to end); `gongshu jobs` and the bureau's page
list them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from gongshu import jobs
from gongshu.cli import main
from gongshu.jobrecords.models import JobProgress, ScheduledJob

pytestmark = pytest.mark.django_db

FAILURES = {"left": 0}
SEEN: list[tuple[int, int, str]] = []


@jobs.job(label="测试：源库连接", attempts=3, backoff=30)
def flaky(name: str) -> str:
    """Fails while FAILURES["left"] > 0 (a source database that is down), then succeeds."""
    if FAILURES["left"] > 0:
        FAILURES["left"] -= 1
        raise RuntimeError(f"源库 {name} 连接失败")
    return f"1 source {name} read"


@jobs.job(label="测试：逐项处理")
def counted(n: int) -> str:
    for i in range(n):
        jobs.progress(i, n, f"第 {i + 1} 项")
        progress = JobProgress.objects.get()  # what the page shows while it runs
        SEEN.append((progress.done, progress.total, progress.message))
    return f"{n} item(s) done"


def _record(result) -> DBTaskResult:
    return DBTaskResult.objects.get(pk=result.id)


def _ready_now(record: DBTaskResult) -> None:
    """The back-off has passed."""
    DBTaskResult.objects.filter(pk=record.pk).update(run_after=timezone.now() - dt.timedelta(seconds=1))


def test_a_failing_job_is_retried_with_back_off_and_its_record_shows_attempts_and_the_last_error():
    FAILURES["left"] = 2
    record = _record(flaky.enqueue("人口库"))
    assert record.status == TaskResultStatus.READY and record.worker_ids == []

    before = timezone.now()
    (ran,) = jobs.run_ready("test-host:1")
    record.refresh_from_db()
    assert record.status == TaskResultStatus.READY and len(record.worker_ids) == 1  # waiting for its retry
    assert record.traceback.strip().splitlines()[-1] == "RuntimeError: 源库 人口库 连接失败"
    assert dt.timedelta(seconds=29) <= record.run_after - before <= dt.timedelta(seconds=31)  # BACKOFF
    assert jobs.report(ran).startswith("flaky: FAILED (attempt 1 of 3), tried again after ")
    assert jobs.run_ready("test-host:1") == []  # not before its back-off has passed

    _ready_now(record)
    before = timezone.now()
    jobs.run_ready("test-host:2")
    record.refresh_from_db()
    assert record.status == TaskResultStatus.READY and len(record.worker_ids) == 2
    assert dt.timedelta(seconds=59) <= record.run_after - before <= dt.timedelta(seconds=61)  # doubled

    _ready_now(record)
    (ran,) = jobs.run_ready("test-host:3")
    record.refresh_from_db()
    assert record.status == TaskResultStatus.SUCCESSFUL and record.worker_ids == ["test-host:1", "test-host:2", "test-host:3"]
    assert record.return_value == "1 source 人口库 read" and jobs.report(ran) == "flaky: 1 source 人口库 read"
    row = jobs.row(record)
    assert (row.attempts, row.max_attempts, row.state) == (3, 3, "已完成")
    assert row.last_error == "RuntimeError: 源库 人口库 连接失败"  # what went wrong before it succeeded


def test_a_job_out_of_attempts_stays_failed_with_its_last_error_and_gongshu_jobs_lists_it():
    FAILURES["left"] = 10
    record = _record(flaky.enqueue("法人库"))
    for _ in range(3):
        _ready_now(record)
        (ran,) = jobs.run_ready()
    record.refresh_from_db()
    assert record.status == TaskResultStatus.FAILED and len(record.worker_ids) == 3 and record.finished_at
    assert jobs.report(ran) == "flaky: FAILED after 3 attempt(s): RuntimeError: 源库 法人库 连接失败"
    _ready_now(record)
    assert jobs.run_ready() == []  # given up: it waits for someone to look
    FAILURES["left"] = 0

    listed = CliRunner().invoke(main, ["jobs", "--state", "FAILED"])
    assert listed.exit_code == 0, listed.output
    (line,) = [line for line in listed.output.splitlines() if " flaky " in line]
    assert "FAILED" in line and "attempts 3/3" in line and "RuntimeError: 源库 法人库 连接失败" in line


def test_progress_is_recorded_while_a_job_runs_and_completed_when_it_ends():
    SEEN.clear()
    record = _record(counted.enqueue(3))
    jobs.run_ready()
    assert SEEN == [(0, 3, "第 1 项"), (1, 3, "第 2 项"), (2, 3, "第 3 项")]
    progress = JobProgress.objects.get(result=record)
    assert (progress.done, progress.total, progress.percent) == (3, 3, 100)
    counted(2)  # called directly (no record): progress has nowhere to go and is not written
    assert JobProgress.objects.count() == 1


def test_a_scheduled_run_enqueues_each_due_job_once(settings):
    settings.GONGSHU_WORKER_INTERVAL, settings.GONGSHU_WORKER_CATCH_UP_SECONDS = 300, 30
    names = [name for name, _ in jobs.SCHEDULE]
    now = timezone.now()
    assert jobs.enqueue_due(now=now) == names  # none has run yet: all are due, in the schedule's order
    assert jobs.enqueue_due(now=now) == []  # once: they wait in the queue
    assert jobs.enqueue_due(now=now + dt.timedelta(hours=1)) == []  # still waiting: not a second copy
    paths = list(DBTaskResult.objects.values_list("task_path", flat=True))
    assert sorted(paths) == sorted(f"gongshu.jobs.{name}" for name in names)

    DBTaskResult.objects.update(status=TaskResultStatus.SUCCESSFUL, finished_at=now)  # as if the worker ran them
    assert jobs.enqueue_due(now=now + dt.timedelta(seconds=10)) == []  # no interval has passed
    assert jobs.enqueue_due(now=now + dt.timedelta(seconds=31)) == ["copy_usage_logs", "audit_refusals"]
    assert jobs.enqueue_due(now=now + dt.timedelta(seconds=31)) == []
    DBTaskResult.objects.update(status=TaskResultStatus.SUCCESSFUL, finished_at=now)
    assert jobs.enqueue_due(now=now + dt.timedelta(seconds=301)) == names  # the slow ones' interval too
    assert ScheduledJob.objects.get(name="checkpoint_audit").enqueued_at == now + dt.timedelta(seconds=301)
    assert DBTaskResult.objects.filter(task_path="gongshu.jobs.run_extractions").count() == 2


def test_a_run_waiting_for_its_retry_or_running_is_not_enqueued_again_by_the_schedule():
    """The schedule counts a run waiting for its retry (or running) as pending; --once (force) does not add a
    copy either; a run left "running" for a day went with its worker, and the schedule starts another."""
    now = timezone.now()
    jobs.enqueue_due(now=now)
    record = DBTaskResult.objects.get(task_path="gongshu.jobs.raise_overdue")
    DBTaskResult.objects.exclude(pk=record.pk).update(status=TaskResultStatus.SUCCESSFUL, finished_at=now)
    DBTaskResult.objects.filter(pk=record.pk).update(worker_ids=["h:1"], traceback="RuntimeError: x",
                                                     run_after=now + dt.timedelta(minutes=1))
    assert "raise_overdue" not in jobs.enqueue_due(force=True, now=now + dt.timedelta(hours=1))
    assert DBTaskResult.objects.filter(task_path="gongshu.jobs.raise_overdue").count() == 1

    DBTaskResult.objects.filter(pk=record.pk).update(status=TaskResultStatus.RUNNING, started_at=now)
    assert "raise_overdue" not in jobs.enqueue_due(now=now + dt.timedelta(hours=1))  # running: not a second copy
    lost = now + jobs.LOST_AFTER + dt.timedelta(minutes=1)  # its worker went and never came back
    assert "raise_overdue" in jobs.enqueue_due(now=lost)
    assert DBTaskResult.objects.filter(task_path="gongshu.jobs.raise_overdue").count() == 2


def _delivery(resource) -> bytes:
    from gongshu.demo import _synthetic_rows

    header, body = _synthetic_rows(resource, random.Random(4), 50)
    out = io.StringIO()
    csv.writer(out).writerows([header] + body)
    return out.getvalue().encode()


def test_the_scheduled_jobs_are_idempotent(city, client):
    """Each scheduled job, given work to do, does it; run again at once, it finds nothing left (a retry, a
    second worker, `worker --once` beside a running worker are harmless)."""
    from catalog.models import Resource
    from core import ratelimit
    from core.models import RateCount
    from warehouse import query, services, usage
    from warehouse.models import Batch, UsageLog
    from workflow.models import Case

    Case.objects.filter(closed_at=None, overdue_raised_at=None).update(due_on=timezone.localdate() - dt.timedelta(days=5))
    usage.catch_up()
    UsageLog.objects.filter(pk=UsageLog.objects.order_by("pk").values_list("pk", flat=True)[:1]).update(
        at=timezone.now() - dt.timedelta(days=366 * 4))
    officer, household = city.actor("officer"), Resource.objects.get(name="户籍人口基本信息")
    insurance = Resource.objects.get(name="社会保险参保信息")
    for _ in range(2):  # one left checking by a killed worker, one queued
        data = _delivery(insurance)
        batch = services.queue_upload(city.actor("cdo_human_resources"), insurance, [data], filename="参保.csv", size=len(data))
    Batch.objects.filter(pk=batch.pk - 1).update(status=Batch.Status.CHECKING, stage="reading",
                                                 updated_at=timezone.now() - dt.timedelta(days=1))
    old = _record(counted.enqueue(1))
    DBTaskResult.objects.filter(pk=old.pk).update(status=TaskResultStatus.SUCCESSFUL,
                                                  finished_at=timezone.now() - dt.timedelta(days=jobs.keep_days() + 1))
    client.get("/api/v1/me", REMOTE_ADDR="192.0.2.77")  # refused: counted for its minute
    ratelimit.flush()
    for row in RateCount.objects.filter(name__contains="|192.0.2.77|"):
        RateCount.objects.filter(pk=row.pk).update(window_start=row.window_start - 120, ends_at=row.ends_at - 120)

    worked = set()
    for name, scheduled in jobs.SCHEDULE:
        if name == "copy_usage_logs":  # a read since the jobs before it caught the usage log up
            query.run(officer, household, scope=query.scope_for(officer, household, purpose="核对"), limit=1)
        first, again = scheduled(), scheduled()
        if not first.startswith("0 ") and any(n != "0" for n in re.findall(r"\b(\d+)\b(?! days)", first)):
            worked.add(name)
        counts = re.findall(r"\b(\d+)\b(?! days)", again)  # what it did (not the keep of prune_job_records)
        assert counts and all(n == "0" for n in counts), (name, first, again)
    assert worked >= {"raise_overdue", "flag_stale_data", "purge_usage_logs", "fail_stale_batches", "run_uploads",
                      "prune_job_records", "copy_usage_logs", "audit_refusals", "checkpoint_audit"}, worked


def test_the_worker_runs_a_queued_upload_end_to_end_with_progress_A1(client, city, sign_in):
    """A web upload is enqueued as its own job with the batch; `gongshu worker --once` checks and publishes
    it; the job's record has the batch's stages as progress; the batch page shows the result."""
    from catalog.models import Resource
    from warehouse.models import Batch

    resource = Resource.objects.get(name="社会保险参保信息")
    data = _delivery(resource)
    sign_in("cdo_human_resources")

    response = client.post(f"/data/{resource.pk}/", {"file": SimpleUploadedFile("参保.csv", data), "mode": "full"})
    assert response.status_code == 302
    batch = Batch.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))
    (queued,) = DBTaskResult.objects.filter(task_path="gongshu.jobs.run_upload")
    assert queued.status == TaskResultStatus.READY and queued.args_kwargs["args"] == [batch.pk]
    assert "排队中" in client.get(response["Location"]).content.decode()

    result = CliRunner().invoke(main, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert f"run_upload: 1 upload checked: batch {batch.pk} published" in result.output
    batch.refresh_from_db()
    queued.refresh_from_db()
    assert batch.status == "published" and queued.status == TaskResultStatus.SUCCESSFUL and len(queued.worker_ids) == 1
    progress = JobProgress.objects.get(result=queued)
    assert (progress.done, progress.total, progress.message) == (4, 4, "发布")  # the batch's last stage
    assert "已发布" in client.get(response["Location"]).content.decode()
    assert jobs.run_upload(batch.pk) == f"0 uploads checked: batch {batch.pk} is no longer queued"  # twice: harmless


def test_a_job_left_running_by_a_killed_worker_is_tried_again():
    """A worker killed mid-job leaves its record running; the next worker on the host sees the process is
    gone, counts the attempt as failed (Interrupted) and retries it."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    record = _record(counted.enqueue(1))
    dead = f"{jobs.worker_id().rsplit(':', 1)[0]}:{gone.pid}"
    DBTaskResult.objects.filter(pk=record.pk).update(status=TaskResultStatus.RUNNING, worker_ids=[dead],
                                                     started_at=timezone.now())
    alive = _record(counted.enqueue(1))
    DBTaskResult.objects.filter(pk=alive.pk).update(status=TaskResultStatus.RUNNING, worker_ids=[jobs.worker_id()])
    (recovered,) = jobs.recover_interrupted()
    record.refresh_from_db()
    assert recovered.pk == record.pk and record.status == TaskResultStatus.READY and len(record.worker_ids) == 1
    assert "gongshu.jobs.Interrupted" in record.exception_class_path and "处理进程已停止" in jobs.row(record).last_error
    assert DBTaskResult.objects.get(pk=alive.pk).status == TaskResultStatus.RUNNING  # this process: still at it


def test_the_jobs_page_shows_the_bureau_each_run_with_progress_and_refuses_others(client, city, sign_in):
    FAILURES["left"] = 1
    failing = _record(flaky.enqueue("人口库"))
    jobs.run_ready()
    running = _record(counted.enqueue(10))
    DBTaskResult.objects.filter(pk=running.pk).update(status=TaskResultStatus.RUNNING, worker_ids=["h:1"])
    JobProgress.objects.create(result=running, done=4, total=10, message="第 5 项")

    page = sign_in("bureau").get("/jobs/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "后台作业" in text and "测试：源库连接" in text and "等待重试" in text and "1/3" in text
    assert "RuntimeError: 源库 人口库 连接失败" in text
    assert '<progress max="10" value="4"></progress> 4/10 第 5 项' in text and 'http-equiv="refresh"' in text
    assert "测试：逐项处理" in sign_in("bureau").get("/jobs/?state=RUNNING").content.decode()
    assert "测试：源库连接" not in sign_in("bureau").get("/jobs/?state=RUNNING").content.decode()
    assert failing.pk

    client.logout()
    for username in ("county_bureau", "officer"):  # a district's bureau, an agency: the platform's records are not theirs
        client.logout()
        assert sign_in(username).get("/jobs/").status_code == 403


@jobs.job(label="测试：按规则重试")
def by_the_rules() -> str:
    return "ok"


def test_attempts_back_off_and_keep_days_are_rules(settings, tmp_path):
    """Issue 13 item 9: how often a job is tried, its first back-off and how long records are kept are
    rules jobs.attempts / jobs.backoff_seconds / jobs.keep_days (a job may still say its own)."""
    import yaml

    from foundation import rulebook

    declared = by_the_rules
    assert (declared.tries, declared.first_wait, jobs.keep_days()) == (3, 30.0, 30)
    data = yaml.safe_load((rulebook.RULEBOOK_DIR / "shuangyashan.yaml").read_text(encoding="utf-8"))
    data["rules"]["jobs.attempts"]["value"], data["rules"]["jobs.backoff_seconds"]["value"] = 5, 10
    data["rules"]["jobs.keep_days"]["value"] = 7
    path = tmp_path / "jobs.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    settings.GONGSHU_RULEBOOK = str(path)
    assert (declared.tries, declared.first_wait, jobs.keep_days()) == (5, 10.0, 7)
    assert (flaky.tries, flaky.first_wait) == (3, 30)  # a job that says its own keeps it
