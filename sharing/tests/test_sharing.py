"""Sharing between public bodies: share requests on the workflow engine (S3), grants and the sharing API
with masking and receipts (S4), refused calls counted (S7), and grants that follow the catalog (S2, G1)."""

import datetime as dt

import pytest
from click.testing import CliRunner
from django.utils import timezone

from audit.models import Event
from catalog.models import Resource
from foundation.errors import Conflict, PermissionDenied, ValidationFailed
from core.models import Notification
from core.services import issue_token
from core.workdays import add_workdays
from sharing import services
from sharing.models import Grant, ShareRequest
from warehouse import query
from warehouse.usage import logs
from workflow.models import Case
from workflow.services import transition

pytestmark = pytest.mark.django_db
ITEMS = ["citizen_id", "name", "gender", "birth_date", "address"]
SCENARIO = "婚姻登记当事人户籍核验"  # every call declares it as its purpose


@pytest.fixture
def household():
    return Resource.objects.get(name="户籍人口基本信息")


def _ask(city, resource, username="cdo_civil_affairs", **overrides):
    fields = {"scenario": SCENARIO, "basis": "《婚姻登记条例》第五条", "method": "api", "items": ITEMS,
              "valid_until": timezone.localdate() + dt.timedelta(days=90)}
    return services.request_share(city.actor(username), resource, **{**fields, **overrides})


def _granted(city, resource, **overrides) -> Grant:
    request = _ask(city, resource, **overrides)
    transition(city.actor("officer"), request.case, "agree")
    return Grant.objects.get(request=request)


def _bearer(city, username="cdo_civil_affairs"):
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_token(city.actor(username), name='对接', scopes=['read', 'write'])[1]}"}


def _person(household):
    return query.arrow_of(query.snapshot_of(household)).slice(0, 1).to_pylist()[0]


def test_a_conditional_request_waits_for_the_provider_one_working_day_S3(city, household):
    request = _ask(city, household)
    case = request.case
    assert case.state == "provider_review" and case.assignee == city.police
    assert case.due_on == add_workdays(timezone.localdate(), 1) and case.deadline_citation == "SYS Art. 27(2)"
    assert Notification.objects.filter(organisation=city.police, link=f"/cases/{case.number}/").exists()
    with pytest.raises(ValidationFailed) as refused:
        transition(city.actor("officer"), case, "decline")  # a refusal states its reasons
    assert refused.value.code == "reason_required"
    transition(city.actor("officer"), case, "decline", comment="申请的数据项超出婚姻登记所需")
    case.refresh_from_db()
    assert case.state == "refused" and not Grant.objects.filter(request=request).exists()
    assert Notification.objects.filter(organisation=city.civil, message__contains="不予共享").exists()


def test_an_unconditional_request_goes_to_the_bureau_then_grants_access_S3(city):
    entities = Resource.objects.get(name="市场主体登记信息")
    request = _ask(city, entities, username="cdo_health", items=["uscc", "entity_name", "status"])
    assert request.case.state == "bureau_review" and request.case.assignee == city.bureau
    with pytest.raises(PermissionDenied):
        transition(city.actor("cdo_market_regulation"), request.case, "approve")  # the provider does not decide here
    transition(city.actor("bureau"), request.case, "approve")
    grant = Grant.objects.get(request=request)
    assert grant.holder.name == "双鸭山市卫生健康委员会" and grant.items == ["uscc", "entity_name", "status"] and grant.in_force()
    assert Event.objects.filter(action="sharing.grant", object_id=str(grant.pk)).exists()


def test_only_the_provider_decides_and_the_applicant_may_withdraw_S3(city, household):
    request = _ask(city, household)
    for username, code in (("cdo_civil_affairs", "wrong_role"), ("cdo_health", "not_assigned"), ("bureau", "wrong_role")):
        with pytest.raises(PermissionDenied) as refused:
            transition(city.actor(username), request.case, "agree")
        assert refused.value.code in (code, "wrong_role", "not_assigned")
    transition(city.actor("cdo_civil_affairs"), request.case, "withdraw")
    assert Case.objects.get(pk=request.case.pk).state == "withdrawn"


@pytest.mark.parametrize(("overrides", "field"), [
    ({"items": []}, "items"),
    ({"items": ["citizen_id", "salary"]}, "items"),
    ({"method": "file"}, "method"),  # the entry offers api and db_sync only
    ({"scenario": " "}, "scenario"),
    ({"basis": ""}, "basis"),
    ({"valid_until": dt.date(2020, 1, 1)}, "valid_until"),
    ({"valid_until": timezone.localdate() + dt.timedelta(days=800)}, "valid_until"),  # past the rulebook's maximum
    ({"row_filter": {"region_code": "230502"}}, "row_filter"),
])
def test_a_bad_request_is_refused_whole_and_nothing_is_opened_S3(city, household, overrides, field):
    before = (ShareRequest.objects.count(), Case.objects.count())
    with pytest.raises(ValidationFailed) as refused:
        _ask(city, household, **overrides)
    assert field in refused.value.errors
    assert (ShareRequest.objects.count(), Case.objects.count()) == before
    assert Event.objects.filter(action="sharing.request_share", outcome="refused").exists()


def test_not_shared_data_and_own_data_cannot_be_requested_S1(city, household):
    Resource.objects.filter(pk=household.pk).update(share_type=Resource.ShareType.NOT_SHARED)
    household.refresh_from_db()
    with pytest.raises(Conflict) as refused:
        _ask(city, household)
    assert refused.value.code == "not_shared"
    Resource.objects.filter(pk=household.pk).update(share_type=Resource.ShareType.CONDITIONAL)
    household.refresh_from_db()
    with pytest.raises(Conflict):
        _ask(city, household, username="officer")  # the police's own data
    _ask(city, household)
    with pytest.raises(Conflict) as duplicate:
        _ask(city, household)
    assert duplicate.value.code == "duplicate_request"


def test_the_granted_agency_looks_up_a_record_masked_by_grade_with_a_receipt_that_proves_S4(client, city, household):
    grant = _granted(city, household)
    person = _person(household)
    response = client.get(f"/api/v1/share/{grant.ref}/records", {"citizen_id": person["citizen_id"], "purpose": SCENARIO},
                          **_bearer(city))
    assert response.status_code == 200, response.content
    body = response.json()
    (record,) = body["records"]
    assert set(record) == set(ITEMS)  # the granted items, no more
    assert record["citizen_id"] != person["citizen_id"] and len(record["citizen_id"]) == 64  # important: salted hash
    assert record["name"] == person["name"][0] + "*" * (len(person["name"]) - 1)
    receipt = body["receipt"]
    event = Event.objects.get(seq=receipt["event"])
    assert event.hash == receipt["hash"] and event.organisation_id == city.civil.pk
    proof = client.get(f"/api/v1/audit/events/{receipt['event']}/proof", {"hash": receipt["hash"]}, **_bearer(city)).json()
    assert proof["ok"] and proof["event"]["action"] == "warehouse.query"
    from gongshu.cli import main

    result = CliRunner().invoke(main, ["audit", "prove", str(receipt["event"]), "--hash", receipt["hash"]])
    assert result.exit_code == 0 and "proven" in result.output
    forged = CliRunner().invoke(main, ["audit", "prove", str(receipt["event"]), "--hash", "0" * 64])
    assert forged.exit_code == 1 and "NOT PROVEN" in forged.output
    usage = logs().get(audit_seq=receipt["event"])
    assert usage.grant_ref == grant.ref and usage.organisation == city.civil and usage.row_count == 1


def test_a_lookup_with_bad_parameters_is_refused_with_the_field_named_and_nothing_logged_S4(client, city, household):
    grant = _granted(city, household)
    person = _person(household)
    head = Event.objects.order_by("-seq").values_list("seq", flat=True).first()
    url = f"/api/v1/share/{grant.ref}/records"
    for params, status, field in (({"citizen_id": person["citizen_id"], "limit": "ten"}, 422, "limit"),
                                  ({"citizen_id": person["citizen_id"], "limit": "0"}, 422, "limit"),
                                  ({"citizen_id": person["citizen_id"], "fields": "name,religion"}, 403, "fields")):
        response = client.get(url, {**params, "purpose": SCENARIO}, **_bearer(city))
        assert (response.status_code, response.json()["field"]) == (status, field), response.content
    assert not Event.objects.filter(seq__gt=head, action="warehouse.query").exists()  # nothing was read
    fields = client.get(url, {"citizen_id": person["citizen_id"], "fields": "citizen_id,name", "limit": "1", "purpose": SCENARIO},
                        **_bearer(city))
    assert list(fields.json()["records"][0]) == ["citizen_id", "name"], fields.content


def test_a_batch_query_sees_only_the_granted_masked_view_S4(client, city, household):
    grant = _granted(city, household, items=["gender", "birth_date"])
    response = client.post(f"/api/v1/share/{grant.ref}/query",
                           {"sql": "SELECT gender, count(*) AS n FROM data GROUP BY gender", "purpose": SCENARIO},
                           content_type="application/json", **_bearer(city))
    assert response.status_code == 200 and {r["gender"] for r in response.json()["records"]} <= {"男", "女"}
    outside = client.post(f"/api/v1/share/{grant.ref}/query", {"sql": "SELECT name FROM data", "purpose": SCENARIO},
                          content_type="application/json", **_bearer(city))
    assert outside.status_code in (403, 422) and "name" in outside.json()["message"]


def test_a_grant_limited_to_rows_never_returns_others_S4(city, household):
    people = query.arrow_of(query.snapshot_of(household)).to_pylist()
    region = people[0]["region_code"]
    inside = next(p for p in people if p["region_code"] == region)
    outside = next(p for p in people if p["region_code"] != region)
    grant = _granted(city, household, items=["citizen_id", "name"], row_filter={"region_code": [region]})
    actor = city.actor("cdo_civil_affairs")
    assert len(services.call(actor, grant.ref, filters={"citizen_id": inside["citizen_id"]}, purpose=grant.purpose).rows) == 1
    assert services.call(actor, grant.ref, filters={"citizen_id": outside["citizen_id"]}, purpose=grant.purpose).rows == []


@pytest.mark.parametrize("case", ["other_agency", "revoked", "expired", "over_scope", "over_purpose", "not_a_key"])
def test_calls_outside_the_grant_are_refused_counted_and_audited_S7(client, city, household, case):
    grant = _granted(city, household)
    person = _person(household)
    params, headers = {"citizen_id": person["citizen_id"], "purpose": SCENARIO}, _bearer(city)
    if case == "other_agency":
        headers = _bearer(city, "cdo_health")
    elif case == "revoked":
        revocation = services.revoke_grant(city.actor("officer"), grant, reason="申请单位已不再承担该职责")
        transition(city.actor("bureau"), revocation.case, "approve", comment="同意撤销")
    elif case == "expired":
        Grant.objects.filter(pk=grant.pk).update(valid_until=timezone.localdate() - dt.timedelta(days=1))
    elif case == "over_scope":
        params["fields"] = "name,household_no"
    elif case == "over_purpose":
        params["purpose"] = "商业营销"
    elif case == "not_a_key":
        params = {"name": person["name"], "purpose": SCENARIO}
    queries = logs().filter(resource=household).count()
    response = client.get(f"/api/v1/share/{grant.ref}/records", params, **headers)
    assert response.status_code == 403, response.content
    body = response.json()
    assert set(body) == {"code", "message", "field"} and "records" not in body
    assert logs().filter(resource=household).count() == queries  # nothing was read
    refusal = grant.refusals.get()
    assert Event.objects.get(seq=refusal.audit_seq).outcome == "refused"


def test_revoking_is_for_the_provider_or_its_bureau_only_S4(city, household):
    grant = _granted(city, household)
    for username in ("cdo_civil_affairs", "cdo_health"):
        with pytest.raises(PermissionDenied):
            services.revoke_grant(city.actor(username), grant, reason="x")
    with pytest.raises(ValidationFailed):
        services.revoke_grant(city.actor("officer"), grant, reason=" ")
    revocation = services.revoke_grant(city.actor("bureau"), grant, reason="整改期间暂停")
    assert revocation.case.state == "bureau_review" and Grant.objects.get(pk=grant.pk).status == "active"
    transition(city.actor("bureau"), revocation.case, "approve", comment="同意撤销")
    assert Grant.objects.get(pk=grant.pk).status == "revoked"


def test_revocation_is_a_case_the_bureau_reviews_and_the_grant_stays_in_force_until_then_S4(city, household):
    """Issue 13: the provider asks, the holder is told at once and keeps calling; the bureau may refuse (the
    grant stays), the provider may withdraw, one request at a time; approval revokes on the lifecycle."""
    grant = _granted(city, household)
    person = _person(household)
    holder = city.actor("cdo_civil_affairs")
    revocation = services.revoke_grant(city.actor("officer"), grant, reason="申请单位已不再承担该职责")
    case = revocation.case
    assert case.case_type == "revocation" and case.state == "bureau_review" and case.due_on is not None
    assert Notification.objects.filter(organisation=grant.holder, link=f"/cases/{case.number}/").exists()
    assert services.call(holder, grant.ref, filters={"citizen_id": person["citizen_id"]}, purpose=SCENARIO).rows
    with pytest.raises(Conflict) as pending:
        services.revoke_grant(city.actor("bureau"), grant, reason="再次申请")
    assert pending.value.code == "revocation_pending"
    with pytest.raises(PermissionDenied):
        transition(city.actor("officer"), case, "approve", comment="提供部门不能自己批准")
    with pytest.raises(ValidationFailed):
        transition(city.actor("bureau"), case, "refuse")  # a refusal states its reasons
    transition(city.actor("bureau"), case, "refuse", comment="该部门仍承担婚姻登记职责")
    assert Grant.objects.get(pk=grant.pk).status == "active"
    second = services.revoke_grant(city.actor("officer"), grant, reason="职责已划转")
    transition(city.actor("officer"), second.case, "withdraw")
    assert Grant.objects.get(pk=grant.pk).status == "active"
    third = services.revoke_grant(city.actor("officer"), grant, reason="职责已划转")
    transition(city.actor("bureau"), third.case, "approve", comment="同意撤销")
    grant.refresh_from_db()
    assert grant.status == "revoked" and grant.status_reason == "职责已划转"
    event = Event.objects.filter(action="sharing.revoke_grant", object_id=str(grant.pk)).get()
    assert third.case.number in event.summary
    with pytest.raises(PermissionDenied) as refused:
        services.call(holder, grant.ref, filters={"citizen_id": person["citizen_id"]}, purpose=SCENARIO)
    assert refused.value.code == "grant_revoked"
    with pytest.raises(Conflict):
        services.revoke_grant(city.actor("officer"), grant, reason="已撤销")


def test_the_api_lists_requests_and_grants_to_their_parties_only_S3(client, city, household):
    grant = _granted(city, household)
    mine = [g["ref"] for g in client.get("/api/v1/share/grants", **_bearer(city)).json()]
    assert grant.ref in mine
    assert grant.ref not in [g["ref"] for g in client.get("/api/v1/share/grants", **_bearer(city, "cdo_health")).json()]
    assert client.get(f"/api/v1/share/grants/{grant.ref}", **_bearer(city, "cdo_health")).status_code == 404
    assert client.get(f"/api/v1/share/grants/{grant.ref}", **_bearer(city, "officer")).status_code == 200  # the provider
    created = client.post("/api/v1/share/requests", {
        "resource": Resource.objects.get(name="公交线路与站点信息").pk, "scenario": "养老服务出行保障", "basis": "《老年人权益保障法》",
        "method": "api", "items": ["line_no", "line_name"], "valid_until": str(timezone.localdate() + dt.timedelta(days=30)),
    }, content_type="application/json", **_bearer(city))
    assert created.status_code == 201 and created.json()["state"] == "bureau_review" and created.json()["due_on"]


def test_a_regrade_reaches_the_grant_at_its_next_call_and_the_holder_is_told_G1(city, household):
    from catalog.services import _item_dicts, submit_resource, update_draft

    grant = _granted(city, household, items=["citizen_id", "gender"])
    person = _person(household)
    actor = city.actor("cdo_civil_affairs")
    assert services.call(actor, grant.ref, filters={"citizen_id": person["citizen_id"]}, purpose=grant.purpose).records[0]["gender"] == person["gender"]
    items = _item_dicts(household.items.all())
    for item in items:
        if item["column"] == "gender":
            item["grade"] = "important"
    officer = city.actor("officer")
    update_draft(officer, household, items=items, fields={"change_reason": "与身份证号关联后升级"})
    transition(city.actor("bureau"), submit_resource(officer, household), "publish")
    household.refresh_from_db()
    record = services.call(actor, grant.ref, filters={"citizen_id": person["citizen_id"]}, purpose=grant.purpose).records[0]
    assert record["gender"] != person["gender"] and len(record["gender"]) == 64  # hashed now, as important data is
    assert Notification.objects.filter(organisation=city.civil, message__contains="重新分级").exists()


def test_a_tightening_to_not_shared_takes_effect_on_review_and_ends_grants_S2(city, household):
    from catalog.services import _item_dicts, submit_resource, update_draft

    grant = _granted(city, household)
    officer = city.actor("officer")
    update_draft(officer, household, items=_item_dicts(household.items.all()),
                 fields={"share_type": "not_shared", "legal_basis": "《居民身份证法》第十九条", "change_reason": "法律依据变化"})
    assert Grant.objects.get(pk=grant.pk).status == "active"  # not before review
    transition(city.actor("bureau"), submit_resource(officer, household), "publish")
    grant.refresh_from_db()
    assert grant.status == "terminated" and "不予共享" in grant.status_reason
    assert Notification.objects.filter(organisation=city.civil, message__contains="授权已终止").exists()


def test_file_delivery_and_database_sync_deliver_the_granted_view_never_more_S4(client, city, household):
    insurance = Resource.objects.get(name="社会保险参保信息")
    request = _ask(city, insurance, method="file", items=["citizen_id", "status"])
    transition(city.actor("cdo_human_resources"), request.case, "agree")
    grant = Grant.objects.get(request=request)
    response = client.get(f"/api/v1/share/{grant.ref}/delivery", {"purpose": SCENARIO}, **_bearer(city))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "citizen_id,status" and len(lines) - 1 == query.snapshot_of(insurance).row_count
    ids = [line.split(",")[0] for line in lines[1:]]
    assert all("*" in value or len(value) == 64 for value in ids)  # masked by grade, as in every other delivery
    event = Event.objects.get(seq=int(response["X-Gongshu-Receipt-Event"]))
    assert event.hash == response["X-Gongshu-Receipt-Hash"]

    sync = _granted(city, household, method="db_sync", items=["citizen_id", "gender"])
    version = query.snapshot_of(household).version
    body = client.get(f"/api/v1/share/{sync.ref}/delivery", {"format": "jsonl", "purpose": SCENARIO}, **_bearer(city))
    assert body.status_code == 200 and body["X-Gongshu-Snapshot"] == str(version)
    assert {tuple(sorted(__import__("json").loads(line))) for line in body.content.decode().splitlines()} == {("citizen_id", "gender")}
    unchanged = client.get(f"/api/v1/share/{sync.ref}/delivery", {"format": "jsonl", "since": version, "purpose": SCENARIO},
                           **_bearer(city))
    assert unchanged.status_code == 204

    births = _ask(city, Resource.objects.get(name="出生医学证明信息"), items=["certificate_no"])
    transition(city.actor("cdo_health"), births.case, "agree")
    lookup_only = Grant.objects.get(request=births)
    refused = client.get(f"/api/v1/share/{lookup_only.ref}/delivery", {"purpose": SCENARIO}, **_bearer(city))
    assert refused.status_code == 403 and refused.json()["code"] == "wrong_method"
