"""P2, SEC1 (issue 13 item 6): the scheduled jobs act as a named platform actor, the scheduler
(``platform_scheduler``, 平台定时任务), not as the ``system`` operator that skips every check. It holds exactly
the permissions its jobs need, passes a case's transition checks only where a transition names it, and the
audit trail names it for every act of its jobs. The console's operator (gongshu/cli.py) stays ``system``."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random

import pytest
from django.utils import timezone

from audit.models import Event
from catalog.models import Resource, ResourceDraft
from catalog.services import update_draft
from core.models import Membership
from foundation.actor import acting_for, platform_actor, system_actor
from foundation.errors import PermissionDenied
from foundation.roles import PLATFORM_MONITOR, PLATFORM_SCHEDULER
from gongshu import jobs
from gongshu.demo import _synthetic_rows
from grading.models import Grade
from sharing import services as sharing
from sharing.models import Grant, Rectification
from warehouse import query, services as warehouse, usage
from warehouse.models import Batch, Snapshot, UsageLog
from warehouse.tests.conftest import approve, import_dir, insurance, sqlite_source, write_sqlite  # noqa: F401
from workflow.models import Case
from workflow.services import transition

pytestmark = pytest.mark.django_db
SCHEDULER = "平台定时任务"
JOB = dict(jobs.SCHEDULE)


@pytest.fixture
def household():
    return Resource.objects.get(name="户籍人口基本信息")


@pytest.fixture
def share_request(city, household):
    return sharing.request_share(city.actor("cdo_civil_affairs"), household, scenario="婚姻登记核验", basis="条例",
                                 method="api", items=["citizen_id", "name"],
                                 valid_until=timezone.localdate() + dt.timedelta(days=200))


@pytest.fixture
def grant(city, share_request):
    transition(city.actor("officer"), share_request.case, "agree")
    return Grant.objects.get(request=share_request)


def _head() -> int:
    return Event.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def _by_scheduler(head: int, *, organisation=None) -> list[Event]:
    """The events written since ``head``: at least one, each naming the scheduler (no user, the job channel)
    and the organisation it acted for (none: platform-wide)."""
    events = list(Event.objects.filter(seq__gt=head).order_by("seq"))
    assert events
    assert {(e.actor_id, e.actor_name, e.channel) for e in events} == {(None, SCHEDULER, "job")}, \
        [(e.action, e.actor_name, e.channel) for e in events]
    assert {e.organisation_name for e in events} == {organisation.name if organisation else ""}
    return events


# --- the actor ------------------------------------------------------------------------------------------


def test_the_scheduler_is_a_named_platform_actor_checked_like_anyone_P2_SEC1():
    scheduler = jobs.scheduler()
    assert scheduler.roles == {PLATFORM_SCHEDULER} and not scheduler.is_system and scheduler.is_platform
    assert (scheduler.user, scheduler.organisation, scheduler.label, scheduler.channel) == (None, None, SCHEDULER, "job")
    with pytest.raises(ValueError):
        platform_actor("bureau_admin")  # a person's role is never given to a platform actor
    assert not system_actor("cli").is_platform  # the console's operator stays the unchecked system


def test_the_misuse_monitor_is_made_by_the_same_constructor_P2(city):
    monitor = sharing.machine_monitor(city.police)
    assert monitor == platform_actor(PLATFORM_MONITOR, city.bureau, channel="system")
    assert monitor.label == "共享监测" and not monitor.is_system


def test_a_platform_actor_acts_for_an_organisation_only_when_it_acts_for_none_P2(city):
    scheduler = jobs.scheduler()
    assert acting_for(scheduler, city.police).organisation == city.police
    assert acting_for(acting_for(scheduler, city.police), city.civil).organisation == city.police
    officer = city.actor("officer")
    assert acting_for(officer, city.civil) is officer
    assert acting_for(system_actor("cli"), city.civil).organisation is None


# --- each scheduled job acts as the scheduler -------------------------------------------------------------


def test_scheduled_extractions_run_as_the_scheduler_for_the_provider_P2_SEC1(city, insurance, import_dir, sqlite_source):
    rows = _synthetic_rows(insurance, random.Random(4), 30)[1]
    write_sqlite(import_dir / "hr.sqlite3", insurance, rows, ["2026-11-01"] * 30)
    warehouse.register_extraction(city.actor("cdo_human_resources"), insurance,
                                  source_database=sqlite_source("hr.sqlite3"), table="cbxx")
    head = _head()
    assert JOB["run_extractions"]() == "1 extraction(s) run"
    events = _by_scheduler(head, organisation=insurance.provider)
    assert "warehouse.run_extraction" in {e.action for e in events}
    assert query.snapshot_of(insurance).batch.channel == "extract"


def test_the_base_refresh_runs_as_the_scheduler_for_the_base_provider_P2_SEC1(city, household):
    person = query.arrow_of(query.snapshot_of(household)).slice(0, 1).to_pylist()[0]["citizen_id"]
    warehouse.correct_record(city.actor("officer"), household, {"citizen_id": person}, {"name": "更正后"},
                             reference="JC-TEST")
    base = Resource.objects.get(name="人口基础库")
    head = _head()
    assert JOB["refresh_bases"]() == "1 base database(s) rebuilt from newer sources"
    events = _by_scheduler(head, organisation=base.provider)
    assert Batch.objects.get(pk=events[0].object_id).resource == base


def test_overdue_cases_are_raised_by_the_scheduler_P2_SEC1(city, share_request):
    Case.objects.filter(pk=share_request.case.pk).update(due_on=timezone.localdate() - dt.timedelta(days=1))
    head = _head()
    assert JOB["raise_overdue"]() == "1 overdue case(s) raised"
    assert [e.action for e in _by_scheduler(head)] == ["workflow.raise_overdue"]


def test_stale_data_is_flagged_by_the_scheduler_P2_SEC1(household):
    Snapshot.objects.filter(resource=household).update(created_at=timezone.now() - dt.timedelta(days=3))
    head = _head()
    assert JOB["flag_stale_data"]() != "0 stale resource(s) flagged"
    events = _by_scheduler(head)
    assert {e.action for e in events} == {"warehouse.flag_stale_data"}
    assert str(household.pk) in {e.object_id for e in events}


def test_usage_logs_past_retention_are_purged_by_the_scheduler_P2_SEC1(city, household):
    officer = city.actor("officer")
    query.run(officer, household, scope=query.scope_for(officer, household, purpose="核对"), limit=1)
    usage.catch_up()
    UsageLog.objects.update(at=timezone.now() - dt.timedelta(days=365 * 3 + 10))
    head = _head()
    assert JOB["purge_usage_logs"]().endswith("usage log(s) past retention removed")
    assert [e.action for e in _by_scheduler(head)] == ["warehouse.purge_usage_logs"]
    assert not UsageLog.objects.exists()


def test_grants_past_their_end_are_expired_by_the_scheduler_P2_SEC1(grant):
    Grant.objects.filter(pk=grant.pk).update(valid_until=timezone.localdate() - dt.timedelta(days=1))
    head = _head()
    assert JOB["expire_grants"]() == "1 grant(s) past their end date expired"
    assert [e.action for e in _by_scheduler(head)] == ["sharing.expire_grant"]
    assert Grant.objects.get(pk=grant.pk).status == "expired"


def _queued(city, resource: Resource) -> Batch:
    header, body = _synthetic_rows(resource, random.Random(3), 20)
    out = io.StringIO()
    csv.writer(out).writerows([header] + body)
    data = out.getvalue().encode()
    return warehouse.queue_upload(city.actor("cdo_human_resources"), resource, [data], filename="参保.csv", size=len(data))


def test_interrupted_batches_are_refused_by_the_scheduler_P2_SEC1(city, insurance, settings):
    settings.GONGSHU_BATCH_STALE_MINUTES = 60
    batch = _queued(city, insurance)
    Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.CHECKING, stage="reading",
                                             updated_at=timezone.now() - dt.timedelta(minutes=61))
    head = _head()
    assert JOB["fail_stale_batches"]() == "1 interrupted batch(es) refused"
    assert [e.action for e in _by_scheduler(head)] == ["warehouse.refuse_batch"]


def test_an_upload_whose_uploader_can_no_longer_act_is_refused_by_the_scheduler_P2_SEC1(city, insurance):
    """The worker runs a web upload as the member who uploaded it; one who left the agency meanwhile cannot
    act for it, and the platform's scheduler refuses the batch for its provider."""
    batch = _queued(city, insurance)
    Membership.objects.filter(user__username="cdo_human_resources", organisation=insurance.provider).delete()
    head = _head()
    assert jobs.run_upload(batch.pk).endswith("refused")
    assert [e.action for e in _by_scheduler(head, organisation=insurance.provider)] == ["warehouse.refuse_batch"]


def test_snapshots_left_in_clear_after_a_regrade_are_encrypted_by_the_scheduler_P2_SEC1(city):
    resource = min((r for r in Resource.objects.filter(snapshots__encrypted=False).distinct()
                    if not r.items.filter(published_grade__encrypt_at_rest=True).exists()),
                   key=lambda r: (r.snapshots.count(), r.pk))
    item = resource.items.filter(is_key=False).first()
    type(item).objects.filter(pk=item.pk).update(published_grade=Grade.objects.filter(encrypt_at_rest=True).first())
    clear = resource.snapshots.filter(encrypted=False).count()
    head = _head()
    assert JOB["encrypt_pending"]() == f"{clear} snapshot(s) re-encrypted after a re-grade"
    assert {e.action for e in _by_scheduler(head)} == {"warehouse.encrypt_snapshot"}


def test_every_scheduled_job_that_acts_acts_as_the_scheduler_P2_SEC1():
    """Static: no scheduled job of gongshu/jobs.py hands a service the unchecked system actor, except the
    audit checkpoint (the platform's own signature)."""
    import inspect

    for name, job in jobs.SCHEDULE + jobs.QUEUED:
        source = inspect.getsource(job.func)
        assert ("system_actor" in source) == (name == "checkpoint_audit"), name


# --- what the scheduler may not do -------------------------------------------------------------------------


def test_the_scheduler_cannot_approve_a_share_request_P2_SEC1(city, share_request):
    case = share_request.case
    for actor in (jobs.scheduler(), acting_for(jobs.scheduler(), share_request.resource.provider)):
        with pytest.raises(PermissionDenied) as refused:
            transition(actor, case, "agree")
        assert refused.value.code == "wrong_role"
    fresh = Case.objects.get(pk=case.pk)
    assert (fresh.state, fresh.steps.count()) == (case.state, case.steps.count())
    assert not Grant.objects.filter(request=share_request).exists()
    refusal = Event.objects.filter(action="workflow.transition").latest("seq")
    assert (refusal.outcome, refusal.actor_name) == ("refused", SCHEDULER)


def test_the_scheduler_cannot_query_data_P2_SEC1(grant):
    usage.catch_up()
    head = _head()
    with pytest.raises(PermissionDenied) as refused:
        sharing.call(jobs.scheduler(), grant.ref, filters={"citizen_id": "x"}, purpose=grant.purpose)
    assert refused.value.code == "not_holder"
    assert not Event.objects.filter(seq__gt=head, outcome="ok").exists()  # nothing read, no receipt
    assert usage.catch_up() == 0 and not UsageLog.objects.filter(grant_ref=grant.ref).exists()


def test_the_scheduler_cannot_edit_a_catalog_entry_even_for_its_provider_P2_SEC1(city, household):
    drafts = ResourceDraft.objects.filter(resource=household).count()
    for actor in (jobs.scheduler(), acting_for(jobs.scheduler(), household.provider)):
        with pytest.raises(PermissionDenied) as refused:
            update_draft(actor, household, fields={"name": "定时任务改名"})
        assert refused.value.code == "forbidden"
    assert Resource.objects.get(pk=household.pk).name == household.name
    assert ResourceDraft.objects.filter(resource=household).count() == drafts


def test_the_scheduler_cannot_take_a_transition_that_does_not_name_it_P2_SEC1(city, grant):
    """Terminating a grant under rectification names the bureau and its monitor, not the scheduler."""
    Grant.objects.filter(pk=grant.pk).update(created_at=timezone.now() - dt.timedelta(days=100))
    assert sharing.review_grant_use()["opened"] == 1
    case = Rectification.objects.get(grant=grant).case
    with pytest.raises(PermissionDenied) as refused:
        transition(jobs.scheduler(), case, "terminate", comment="定时任务不能终止授权")
    assert refused.value.code == "wrong_role"
    assert Case.objects.get(pk=case.pk).state == "rectifying" and Grant.objects.get(pk=grant.pk).status == "active"
    transition(sharing.machine_monitor(grant.resource.provider), case, "terminate", comment="逾期未整改")  # named
    assert Case.objects.get(pk=case.pk).state == "terminated"


def test_the_scheduled_services_refuse_a_person_P2_SEC1(city):
    """A person holds none of the scheduler's permissions: the job services refuse them (nothing written)."""
    from warehouse import bases, regrade
    from workflow.services import raise_overdue_cases

    head = _head()
    bureau = city.actor("bureau")
    for run in (warehouse.run_due_extractions, warehouse.flag_stale_data, warehouse.purge_usage_logs,
                warehouse.fail_stale_batches, sharing.expire_grants, bases.refresh, regrade.encrypt_pending,
                raise_overdue_cases):
        with pytest.raises(PermissionDenied) as refused:
            run(bureau)
        assert refused.value.code == "forbidden", run
    assert not Event.objects.filter(seq__gt=head, outcome="ok").exists()
