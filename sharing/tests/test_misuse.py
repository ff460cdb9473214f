"""Misuse control (S7, SYS Art. 31, 33): idle grants, unusual volumes, calls after expiry and repeated
calls outside the grant open a rectification with a deadline; past it the grant is suspended, then
terminated; a rectification the provider accepts puts the grant back in force."""

import datetime as dt

import pytest
from django.utils import timezone

from catalog.models import Resource
from core.errors import PermissionDenied
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
    UsageLog.objects.bulk_create([
        UsageLog(organisation=grant.holder, resource=grant.resource, purpose=grant.purpose, scope="grant", grant_ref=grant.ref,
                 items=grant.items, row_count=1, channel="api") for _ in range(n)
    ])
    UsageLog.objects.filter(grant_ref=grant.ref, at__gte=timezone.now() - dt.timedelta(minutes=5)).update(at=at)


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
            services.call(actor, grant.ref, filters={"citizen_id": "x"}, fields=["household_no"])
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
        services.call(city.actor("cdo_civil_affairs"), grant.ref, filters={"citizen_id": "x"})
    assert refused.value.code == "grant_suspended"
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
