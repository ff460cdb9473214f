"""Misuse control (S7, SYS Art. 31, 33): idle grants, unusual volumes, calls after expiry and repeated
calls outside the grant open a rectification with a deadline; past it the grant is suspended, then
terminated; a rectification the provider accepts puts the grant back in force."""

import datetime as dt

import pytest
from django.utils import timezone

from catalog.models import Resource
from audit.models import Event
from foundation.errors import PermissionDenied, ValidationFailed
from sharing import services
from sharing.models import Grant, Rectification
from warehouse.models import UsageLog
from workflow.models import Case
from workflow.services import transition

pytestmark = pytest.mark.django_db


@pytest.fixture
def grant(city):
    household = Resource.objects.get(name="户籍人口基本信息")
    request = services.request_share(city.actor("cdo_civil_affairs"), household, scenario="婚姻登记核验", basis="条例",
                                     method="api", items=["citizen_id", "name"],
                                     valid_until=timezone.localdate() + dt.timedelta(days=200))
    transition(city.actor("officer"), request.case, "agree")
    return Grant.objects.get(request=request)


def _calls(grant, n, at):
    """``n`` calls at ``at`` (the usage log as the chain's copy would hold them)."""
    UsageLog.objects.bulk_create([
        UsageLog(at=at, organisation=grant.holder, resource=grant.resource, purpose=grant.purpose, scope="grant",
                 grant_ref=grant.ref, items=grant.items, row_count=1, channel="api") for _ in range(n)
    ])


def test_a_grant_idle_for_three_months_gets_one_rectification_with_a_deadline_S7(city, grant):
    Grant.objects.filter(pk=grant.pk).update(created_at=timezone.now() - dt.timedelta(days=100))
    assert services.review_grant_use()["opened"] == 1
    rectification = Rectification.objects.get(grant=grant)
    assert rectification.reason == "idle" and rectification.case.state == "rectifying"
    assert rectification.case.assignee == city.civil and rectification.case.deadline_citation == "SYS Art. 31"
    assert services.review_grant_use()["opened"] == 0  # one open rectification per grant


def test_a_grant_in_use_is_left_alone_S7(grant):
    Grant.objects.filter(pk=grant.pk).update(created_at=timezone.now() - dt.timedelta(days=100))
    _calls(grant, 3, timezone.now() - dt.timedelta(days=10))
    assert services.review_grant_use()["opened"] == 0


def test_unusual_volume_is_a_finding_S7(grant):
    _calls(grant, 10, timezone.now() - dt.timedelta(days=5))
    _calls(grant, 250, timezone.now() - dt.timedelta(hours=2))
    services.review_grant_use()
    assert Rectification.objects.get(grant=grant).reason == "volume"


def test_repeated_calls_outside_the_grant_are_a_finding_S7(city, grant):
    actor = city.actor("cdo_civil_affairs")
    for _ in range(10):
        with pytest.raises(PermissionDenied):
            services.call(actor, grant.ref, filters={"citizen_id": "x"}, fields=["household_no"], purpose=grant.purpose)
    services.review_grant_use()
    assert Rectification.objects.get(grant=grant).reason == "refused"


def test_an_unrectified_grant_is_suspended_then_terminated_S7(city, grant):
    Grant.objects.filter(pk=grant.pk).update(created_at=timezone.now() - dt.timedelta(days=100))
    services.review_grant_use()
    rectification = Rectification.objects.get(grant=grant)
    Case.objects.filter(pk=rectification.case.pk).update(due_on=timezone.localdate() - dt.timedelta(days=1))
    assert services.review_grant_use()["suspended"] == 1
    grant.refresh_from_db()
    assert grant.status == "suspended"
    with pytest.raises(PermissionDenied) as refused:
        services.call(city.actor("cdo_civil_affairs"), grant.ref, filters={"citizen_id": "x"}, purpose=grant.purpose)
    assert refused.value.code == "grant_suspended"
    monitor = services.machine_monitor(grant.resource.provider)
    assert not monitor.is_system  # a named platform actor, checked like anyone (issue 13 item 6)
    with pytest.raises(PermissionDenied) as wrong:
        transition(monitor, Case.objects.get(pk=rectification.case.pk), "report", comment="监测不能代替使用部门报送")
    assert wrong.value.code == "wrong_role"
    Rectification.objects.filter(pk=rectification.pk).update(suspended_on=timezone.localdate() - dt.timedelta(days=30))
    assert services.review_grant_use()["terminated"] == 1
    grant.refresh_from_db()
    assert grant.status == "terminated" and Case.objects.get(pk=rectification.case.pk).state == "terminated"


def test_a_rectification_the_provider_accepts_puts_a_suspended_grant_back_in_force_S7(city, grant):
    Grant.objects.filter(pk=grant.pk).update(created_at=timezone.now() - dt.timedelta(days=100))
    services.review_grant_use()
    rectification = Rectification.objects.get(grant=grant)
    Case.objects.filter(pk=rectification.case.pk).update(due_on=timezone.localdate() - dt.timedelta(days=1))
    services.review_grant_use()
    case = Case.objects.get(pk=rectification.case.pk)
    with pytest.raises(PermissionDenied):
        transition(city.actor("officer"), case, "report", comment="x")  # the holder reports, not the provider
    transition(city.actor("cdo_civil_affairs"), case, "report", comment="已接入婚姻登记系统，恢复日常调用")
    transition(city.actor("officer"), Case.objects.get(pk=case.pk), "accept")
    grant.refresh_from_db()
    assert grant.status == "active" and grant.in_force()


def test_onward_provision_needs_the_providers_recorded_consent_and_is_no_wider_S7(city, grant):
    from core.models import Organisation

    health = Organisation.objects.get(name="双鸭山市卫生健康委员会")
    with pytest.raises(ValidationFailed):
        services.ask_onward(city.actor("cdo_civil_affairs"), grant, recipient=health, purpose="出生一件事", items=["household_no"])
    with pytest.raises(PermissionDenied):
        services.ask_onward(city.actor("cdo_health"), grant, recipient=health, purpose="x", items=["name"])
    onward = services.ask_onward(city.actor("cdo_civil_affairs"), grant, recipient=health, purpose="出生一件事联办", items=["name"])
    assert onward.case.assignee == city.police and not Grant.objects.filter(holder=health, origin="onward").exists()
    transition(city.actor("officer"), onward.case, "consent")
    derived = Grant.objects.get(holder=health, origin="onward")
    assert derived.items == ["name"] and derived.valid_until == grant.valid_until and derived.row_filter == grant.row_filter
    assert Event.objects.filter(action="sharing.grant", object_id=str(derived.pk)).exists()


def test_conditional_entries_are_put_up_for_re_evaluation_on_the_rulebooks_interval_S1(city):
    household = Resource.objects.get(name="户籍人口基本信息")
    assert services.reevaluate_conditional_entries() == 0  # published recently
    later = timezone.localdate() + dt.timedelta(days=400)
    opened = services.reevaluate_conditional_entries(today=later)
    assert opened == Resource.objects.filter(share_type="conditional", published_at__isnull=False).count()
    evaluation = household.reevaluations.get()
    assert evaluation.case.state == "evaluating" and evaluation.case.assignee == city.police
    assert services.reevaluate_conditional_entries(today=later) == 0  # one open evaluation per entry
    transition(city.actor("officer"), evaluation.case, "keep", comment="涉及个人信息，继续按条件共享")
    assert Case.objects.get(pk=evaluation.case.pk).state == "kept"


def test_a_re_evaluation_that_relaxes_an_entry_changes_it_by_a_reviewed_update_S1(city):
    """Relaxing submits the entry's update to unconditional sharing for review; the published entry governs
    until then, and after the review the entry is unconditional."""
    from catalog.services import open_review

    household = Resource.objects.get(name="户籍人口基本信息")
    evaluation = services._open_reevaluation(services.machine_monitor(household.provider), household)
    transition(city.actor("officer"), evaluation.case, "relax", comment="条件已不必要")
    household.refresh_from_db()
    assert household.share_type == "conditional"  # the published entry still governs
    review = open_review(household)
    assert review is not None and review.case_type == "catalog_update_review"
    assert open_review(household).assignee == city.bureau
    review = transition(city.actor("bureau"), review, "publish", comment="同意放宽")
    household.refresh_from_db()
    assert review.state == "published" and household.share_type == "unconditional"
