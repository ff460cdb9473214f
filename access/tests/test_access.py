"""The one access path (issue 13 item 2): a share grant is an entitlement; its one lifecycle (suspend,
resume, revoke, expire, terminate) refuses moves from where it cannot go; every call declares its purpose,
keeps to the daily quota (refused with quota_exceeded and Retry-After) and is metered per day in the
transaction of its audit event (S4, S7)."""

import datetime as dt

import pytest
from django.utils import timezone

from access import calls
from access import services as entitlements
from access.models import Entitlement, Meter
from audit.models import Event
from core.models import Notification
from foundation.errors import Conflict, TooManyRequests, ValidationFailed
from sharing import services as sharing
from sharing.models import Grant, ShareRequest
from warehouse import query
from workflow.services import transition

pytestmark = pytest.mark.django_db
SCENARIO = "婚姻登记当事人户籍核验"


@pytest.fixture
def household(small_city):
    """The small city's household entry (gongshu.factories), a stand-in for the demo's 户籍人口基本信息."""
    return small_city.household


@pytest.fixture
def grant(small_city, household):
    request = sharing.request_share(small_city.actor("cdo_civil"), household, scenario=SCENARIO, basis="《婚姻登记条例》第五条",
                                    method="api", items=["citizen_id", "name"],
                                    valid_until=timezone.localdate() + dt.timedelta(days=30))
    transition(small_city.actor("officer"), request.case, "agree")
    return Grant.objects.get(request=request)


def _person(resource):
    return query.arrow_of(query.snapshot_of(resource)).slice(0, 1).to_pylist()[0]


def test_a_share_grant_is_an_entitlement_named_by_its_request_S4(small_city, grant, household):
    entitlement = Entitlement.objects.get(ref=grant.ref)
    assert (entitlement.origin, entitlement.holder.name, entitlement.resource_id) == ("request", small_city.civil.name, household.pk)
    assert ShareRequest.objects.get(grant=entitlement).scenario == SCENARIO
    assert (entitlement.quota_calls, entitlement.quota_rows, entitlement.quota_bytes) == (0, 0, 0)  # the rulebook's default


def test_a_call_is_metered_per_day_in_the_transaction_of_its_audit_event_S4(small_city, grant, household):
    person = _person(household)
    actor = small_city.actor("cdo_civil", channel="api")
    first = sharing.call(actor, grant.ref, filters={"citizen_id": person["citizen_id"]}, purpose=SCENARIO)
    sharing.call(actor, grant.ref, filters={"citizen_id": "nobody"}, purpose=SCENARIO)
    meter = Meter.objects.get(entitlement_id=grant.pk, day=timezone.localdate())
    assert (meter.calls, meter.rows) == (2, 1) and meter.bytes > 20
    assert Event.objects.get(seq=first.audit_seq).action == "warehouse.query"
    with pytest.raises(Exception):
        sharing.call(actor, grant.ref, filters={"citizen_id": person["citizen_id"]}, purpose="商业营销")
    assert Meter.objects.get(pk=meter.pk).calls == 2  # a refused call is not a use


def test_without_a_purpose_nothing_is_read_or_counted_S7(small_city, grant):
    head = Event.objects.order_by("-seq").values_list("seq", flat=True).first()
    with pytest.raises(ValidationFailed) as refused:
        calls.call(small_city.actor("cdo_civil"), grant.ref, purpose=" ", filters={"citizen_id": "x"})
    assert refused.value.code == "purpose_required"
    assert not Event.objects.filter(seq__gt=head).exists() and not Meter.objects.filter(entitlement_id=grant.pk).exists() \
        and not grant.refusals.exists()


def test_a_used_up_call_quota_is_refused_with_retry_after_and_audited_S7(small_city, grant, household):
    Entitlement.objects.filter(pk=grant.pk).update(quota_calls=2)
    actor = small_city.actor("cdo_civil", channel="api")
    key = {"citizen_id": _person(household)["citizen_id"]}
    for _ in range(2):
        sharing.call(actor, grant.ref, filters=key, purpose=SCENARIO)
    with pytest.raises(TooManyRequests) as refused:
        sharing.call(actor, grant.ref, filters=key, purpose=SCENARIO)
    assert refused.value.code == "quota_exceeded" and int(refused.value.headers["Retry-After"]) >= 1
    assert Event.objects.filter(action="sharing.call", outcome="refused").latest("seq").data["error"]["code"] == "quota_exceeded"
    assert grant.refusals.get().code == "quota_exceeded"
    assert Meter.objects.get(entitlement_id=grant.pk).calls == 2


def test_a_used_up_row_quota_is_refused_until_tomorrow(small_city, grant, household):
    Entitlement.objects.filter(pk=grant.pk).update(quota_rows=1)
    actor = small_city.actor("cdo_civil", channel="api")
    sharing.call(actor, grant.ref, filters={"citizen_id": _person(household)["citizen_id"]}, purpose=SCENARIO)
    with pytest.raises(TooManyRequests) as refused:
        sharing.call(actor, grant.ref, filters={"citizen_id": "x"}, purpose=SCENARIO)
    assert refused.value.code == "quota_exceeded" and 1 <= refused.value.retry_after <= 86_400


def test_the_quota_over_http_is_a_429_with_retry_after(client, small_city, grant, household):
    from core.services import issue_token

    Entitlement.objects.filter(pk=grant.pk).update(quota_calls=1)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(small_city.actor('cdo_civil'), name='对接', scopes=['read'])[1]}"}
    url = f"/api/v1/share/{grant.ref}/records?citizen_id={_person(household)['citizen_id']}&purpose={SCENARIO}"
    assert client.get(url, **auth).status_code == 200
    refused = client.get(url, **auth)
    assert refused.status_code == 429 and refused.json()["code"] == "quota_exceeded" and refused["Retry-After"]


def test_the_lifecycle_moves_only_where_it_may_and_tells_the_holder(small_city, grant):
    monitor = small_city.actor("bureau")
    entitlements.change(monitor, grant, Entitlement.Status.SUSPENDED, reason="整改期间暂停", action="sharing.suspend_grant")
    with pytest.raises(Exception) as suspended:
        sharing.call(small_city.actor("cdo_civil"), grant.ref, filters={"citizen_id": "x"}, purpose=SCENARIO)
    assert suspended.value.code == "grant_suspended"
    entitlements.change(monitor, grant, Entitlement.Status.ACTIVE, reason="整改完成", action="sharing.resume_grant")
    entitlements.change(monitor, grant, Entitlement.Status.TERMINATED, reason="严重违规", action="sharing.terminate_grant")
    with pytest.raises(Conflict) as closed:
        entitlements.change(monitor, grant, Entitlement.Status.ACTIVE, reason="再试", action="sharing.resume_grant")
    assert closed.value.code == "grant_closed"
    with pytest.raises(ValidationFailed):
        entitlements.change(monitor, grant, Entitlement.Status.SUSPENDED, reason=" ", action="sharing.suspend_grant")
    assert [e.data["after"]["status"] for e in Event.objects.filter(object_id=str(grant.pk), action__in=(
        "sharing.suspend_grant", "sharing.resume_grant", "sharing.terminate_grant")).order_by("seq")] == ["suspended", "active", "terminated"]
    messages = list(Notification.objects.filter(organisation=small_city.civil).values_list("message", flat=True))
    assert any("已暂停：整改期间暂停" in m for m in messages) and any("已恢复：整改完成" in m for m in messages)


def test_entitlements_past_their_end_expire_on_schedule(small_city, grant):
    Entitlement.objects.filter(pk=grant.pk).update(valid_until=timezone.localdate() - dt.timedelta(days=1))
    from foundation.actor import system_actor

    assert entitlements.expire_due(system_actor(), Grant, action="sharing.expire_grant", today=timezone.localdate()) == 1
    assert Entitlement.objects.get(pk=grant.pk).status == "expired"
    assert entitlements.expire_due(system_actor(), Grant, action="sharing.expire_grant", today=timezone.localdate()) == 0
