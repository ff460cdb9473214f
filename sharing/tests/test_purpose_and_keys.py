"""Every call on a grant declares its purpose, and a per-record lookup names its key (issue 12 items 3 and 10;
S4, S7, S9): without them the call is refused with the field named, and nothing is read, logged or counted —
over the API, for file and sync deliveries, and for a lower instance's forwarded calls."""

import datetime as dt
import urllib.parse

import pytest
from django.utils import timezone

from audit.models import Event
from catalog.models import Resource
from foundation import signing
from foundation.actor import system_actor
from core.services import issue_token
from sharing import federation, services
from sharing.models import Grant, Peer
from warehouse import query
from workflow.models import Case
from workflow.services import transition

pytestmark = pytest.mark.django_db
SCENARIO = "婚姻登记当事人户籍核验"


@pytest.fixture
def household():
    return Resource.objects.get(name="户籍人口基本信息")


def _grant(city, resource, **overrides) -> Grant:
    fields = {"scenario": SCENARIO, "basis": "《婚姻登记条例》第五条", "method": "api", "items": ["citizen_id", "name"],
              "valid_until": timezone.localdate() + dt.timedelta(days=30), **overrides}
    request = services.request_share(city.actor("cdo_civil_affairs"), resource, **fields)
    transition(city.actor("officer"), request.case, "agree")
    return Grant.objects.get(request=request)


def _bearer(city, username="cdo_civil_affairs"):
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_token(city.actor(username), name='对接', scopes=['read'])[1]}"}


def _person(resource):
    return query.arrow_of(query.snapshot_of(resource)).slice(0, 1).to_pylist()[0]


def _nothing_since(head: int, grant: Grant) -> None:
    """Nothing read (no read event), nothing counted on the grant (no refused call)."""
    assert not Event.objects.filter(seq__gt=head, action="warehouse.query").exists()
    assert not grant.refusals.exists()


def _head() -> int:
    return Event.objects.order_by("-seq").values_list("seq", flat=True).first()


@pytest.mark.parametrize("purpose", [None, "", "   "], ids=["missing", "empty", "blank"])
@pytest.mark.parametrize("call", ["lookup", "query", "file", "sync"])
def test_a_call_without_a_purpose_is_refused_and_nothing_is_read_or_counted_S4_S7(client, city, household, call, purpose):
    """S7: the purpose is what an over-purpose call is judged by, so every call on a grant must declare one."""
    if call == "file":
        insurance = Resource.objects.get(name="社会保险参保信息")
        request = services.request_share(city.actor("cdo_civil_affairs"), insurance, scenario=SCENARIO, basis="条例",
                                         method="file", items=["citizen_id", "status"],
                                         valid_until=timezone.localdate() + dt.timedelta(days=30))
        transition(city.actor("cdo_human_resources"), request.case, "agree")
        grant = Grant.objects.get(request=request)
    else:
        grant = _grant(city, household, method="db_sync" if call == "sync" else "api")
    declared = {} if purpose is None else {"purpose": purpose}
    head, headers = _head(), _bearer(city)
    if call == "lookup":
        response = client.get(f"/api/v1/share/{grant.ref}/records", {"citizen_id": _person(household)["citizen_id"], **declared},
                              **headers)
    elif call == "query":
        response = client.post(f"/api/v1/share/{grant.ref}/query", {"sql": "SELECT count(*) AS n FROM data", **declared},
                               content_type="application/json", **headers)
    else:
        response = client.get(f"/api/v1/share/{grant.ref}/delivery", {"format": "jsonl", **declared}, **headers)
    assert response.status_code == 422, response.content
    assert response.json() == {"code": "purpose_required", "message": response.json()["message"], "field": "purpose"}
    _nothing_since(head, grant)


def test_with_its_purpose_the_same_call_is_answered_and_another_purpose_is_misuse_S7(client, city, household):
    grant = _grant(city, household)
    person, headers = _person(household), _bearer(city)
    url = f"/api/v1/share/{grant.ref}/records"
    answered = client.get(url, {"citizen_id": person["citizen_id"], "purpose": f"  {SCENARIO} "}, **headers)
    assert answered.status_code == 200 and len(answered.json()["records"]) == 1
    other = client.get(url, {"citizen_id": person["citizen_id"], "purpose": "商业营销"}, **headers)
    assert other.status_code == 403 and other.json()["code"] == "over_purpose"
    assert grant.refusals.get().code == "over_purpose"  # misuse is counted (S7)


@pytest.mark.parametrize("keys", [{}, {"citizen_id": ""}, {"citizen_id": "  "}], ids=["none", "empty", "blank"])
def test_a_per_record_lookup_without_a_key_is_refused_with_the_key_named_S4(client, city, household, keys):
    """Item 3: a lookup with no key used to answer the first 100 records of the granted view."""
    grant = _grant(city, household)
    head = _head()
    response = client.get(f"/api/v1/share/{grant.ref}/records", {**keys, "purpose": SCENARIO}, **_bearer(city))
    assert response.status_code == 422, response.content
    body = response.json()
    assert (body["code"], body["field"]) == ("key_required", "citizen_id") and "citizen_id" in body["message"]
    assert "records" not in body
    _nothing_since(head, grant)


def test_a_lookup_without_a_key_by_someone_else_names_nothing(client, city, household):
    """The key's name is told to those who may see the grant only: another agency gets the plain 404."""
    grant = _grant(city, household)
    response = client.get(f"/api/v1/share/{grant.ref}/records", {"purpose": SCENARIO}, **_bearer(city, "cdo_health"))
    assert response.status_code == 404 and "citizen_id" not in response.content.decode()


# --- a lower instance's forwarded calls (S9) -------------------------------------------------------------


def _signed(client, method: str, path: str, payload: dict | None = None):
    """A request signed as the lower instance "county" (registered here with this instance's own key)."""
    import json

    body = json.dumps(payload, ensure_ascii=False).encode() if payload is not None else b""
    timestamp, nonce, signature = signing.sign(signing.load_private_key(federation._key_path()), method, path, body)
    headers = {"HTTP_X_GONGSHU_PEER": "county", "HTTP_X_GONGSHU_TIME": timestamp, "HTTP_X_GONGSHU_NONCE": nonce,
               "HTTP_X_GONGSHU_SIGNATURE": signature}
    if method == "POST":
        return client.post(path, body, content_type="application/json", **headers)
    return client.get(path, **headers)


def test_a_forwarded_call_declares_the_agencys_purpose_and_its_key_S9(client, city, household):
    """S9: the lower instance sends the scenario its agency applied with; the grant here names it with the
    agency and the instance, and the call is checked against that — no purpose or no key is refused."""
    federation.add_peer(system_actor("test"), name="county", url="http://county.invalid", public_key=federation.public_key(),
                        level="lower", organisation=city.civil)
    agency = urllib.parse.urlencode({federation.AGENCY: "县民政局"})
    made = _signed(client, "POST", f"/api/v1/federation/requests?{agency}", {
        "resource_code": household.code, "scenario": "跨省婚姻登记核验", "basis": "《婚姻登记条例》", "method": "api",
        "items": ["citizen_id", "name"], "valid_until": str(timezone.localdate() + dt.timedelta(days=30)), "agency": "县民政局"})
    assert made.status_code == 201, made.content
    transition(city.actor("officer"), Case.objects.get(number=made.json()["case"]), "agree")
    grant = Grant.objects.get(request__pk=made.json()["id"])
    assert grant.purpose == federation.forwarded_scenario("跨省婚姻登记核验", "县民政局", Peer.objects.get(name="county"))
    person = _person(household)

    def call(**params):
        query_string = urllib.parse.urlencode({**params, federation.AGENCY: "县民政局"})
        return _signed(client, "GET", f"/api/v1/federation/grants/{grant.ref}/records?{query_string}")

    head = _head()
    missing = call(citizen_id=person["citizen_id"])
    assert (missing.status_code, missing.json()["field"]) == (422, "purpose")
    keyless = call(purpose="跨省婚姻登记核验")
    assert (keyless.status_code, keyless.json()["field"]) == (422, "citizen_id")
    _nothing_since(head, grant)
    answered = call(citizen_id=person["citizen_id"], purpose="跨省婚姻登记核验")
    assert answered.status_code == 200 and len(answered.json()["records"]) == 1, answered.content
    assert call(citizen_id=person["citizen_id"], purpose="商业营销").json()["code"] == "over_purpose"
