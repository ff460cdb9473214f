"""The HTTP API: token auth, OpenAPI, structured errors, and the catalog slice end to end."""

import pytest

from audit.models import Event
from catalog.tests.factories import entry_fields, entry_items
from core.services import issue_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, city):
    """``api("officer").post(path, json)``: a client acting with a write token of that user."""

    class As:
        def __init__(self, username, organisation=None):
            _, self.token = issue_token(city.actor(username, organisation), name="test", scopes=["read", "write"])

        def _headers(self):
            return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}

        def get(self, path, **params):
            return client.get(path, params, **self._headers())

        def post(self, path, body=None):
            return client.post(path, body or {}, content_type="application/json", **self._headers())

        def patch(self, path, body):
            return client.patch(path, body, content_type="application/json", **self._headers())

    return As


def _json_entry():
    fields = entry_fields()
    fields["temporal_start"] = fields["temporal_start"].isoformat()
    return {**fields, "items": entry_items()}


def test_openapi_is_served(client):
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "公数 Gongshu API"
    assert "/api/v1/catalog/resources" in spec["paths"]
    assert "/api/v1/cases/{number}/transitions" in spec["paths"]


def test_slice_over_the_api(api):
    """C2 over HTTP: the data officer drafts and submits; bureau, centre, bureau decide; it is published."""
    officer, bureau, centre = api("officer"), api("bureau"), api("centre")
    created = officer.post("/api/v1/catalog/resources", _json_entry())
    assert created.status_code == 201, created.json()
    rid = created.json()["id"]
    case = officer.post(f"/api/v1/catalog/resources/{rid}/submit").json()
    number = case["number"]
    assert case["state"] == "bureau_review" and case["due_on"]
    assert bureau.get(f"/api/v1/cases/{number}").json()["actions"] == ["approve", "return"]
    for who, step in ((bureau, "approve"), (centre, "verify"), (bureau, "publish")):
        response = who.post(f"/api/v1/cases/{number}/transitions", {"name": step})
        assert response.status_code == 200, response.json()
    resource = api("public").get(f"/api/v1/catalog/resources/{rid}").json()
    assert (resource["status"], resource["published_version"]) == ("published", 1)
    timeline = officer.get(f"/api/v1/cases/{number}").json()["steps"]
    assert [s["transition"] for s in timeline] == ["submit", "approve", "verify", "publish"]
    assert all(Event.objects.filter(seq=s["audit_seq"]).exists() for s in timeline)


def test_validation_errors_are_structured_with_the_field(api):
    body = _json_entry() | {"share_conditions": ""}
    response = api("officer").post("/api/v1/catalog/resources", body)
    assert response.status_code == 422
    assert response.json() == {"code": "invalid", "message": "有条件共享的数据须说明共享条件", "field": "share_conditions"}


def test_schema_errors_are_structured_too(api):
    response = api("officer").post("/api/v1/catalog/resources", {"name": "x", "temporal_start": "2026-02-30"})
    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"code", "message", "field"} and body["field"] == "temporal_start"


def test_wrong_role_transition_is_403_and_changes_nothing(api):
    officer = api("officer")
    rid = officer.post("/api/v1/catalog/resources", _json_entry()).json()["id"]
    number = officer.post(f"/api/v1/catalog/resources/{rid}/submit").json()["number"]
    response = officer.post(f"/api/v1/cases/{number}/transitions", {"name": "approve"})
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_role"
    assert officer.get(f"/api/v1/cases/{number}").json()["state"] == "bureau_review"


def test_drafts_of_other_agencies_are_invisible(api):
    rid = api("officer").post("/api/v1/catalog/resources", _json_entry()).json()["id"]
    response = api("cdo_civil_affairs").get(f"/api/v1/catalog/resources/{rid}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert rid not in [r["id"] for r in api("public").get("/api/v1/catalog/resources").json()]
    assert api("bureau").get(f"/api/v1/catalog/resources/{rid}").status_code == 200  # the reviewer sees it


def test_cases_of_other_parties_are_invisible(api):
    officer = api("officer")
    rid = officer.post("/api/v1/catalog/resources", _json_entry()).json()["id"]
    number = officer.post(f"/api/v1/catalog/resources/{rid}/submit").json()["number"]
    assert api("cdo_civil_affairs").get(f"/api/v1/cases/{number}").status_code == 404
    assert api("county_bureau").get(f"/api/v1/cases/{number}").status_code == 404


def test_checks_and_workdays_endpoints(api):
    who = api("public")
    assert who.get("/api/v1/checks/uscc/91110000600037341L").json() == {"valid": True, "reason": None}
    assert who.get("/api/v1/checks/citizen-id/110105194912310021").json()["valid"] is False
    assert who.get("/api/v1/workdays/add", start="2026-09-30", n=5).json()["date"] == "2026-10-13"
    bad = who.get("/api/v1/workdays/add", start="2026-13-01", n=5)
    assert bad.status_code == 422 and bad.json()["field"] == "start"


def test_rules_endpoint_cites_articles(api):
    rules = {r["key"]: r for r in api("public").get("/api/v1/rules").json()}
    assert rules["share.conditional.review"]["article"] == "SYS Art. 27(2)"


def test_every_response_carries_a_request_id_that_lands_in_the_audit(api, client):
    officer = api("officer")
    response = client.post(
        "/api/v1/catalog/resources", _json_entry(), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {officer.token}", HTTP_X_REQUEST_ID="trace-12345678",
    )
    assert response["X-Request-ID"] == "trace-12345678"
    event = Event.objects.filter(action="catalog.draft_resource").order_by("-seq").first()
    assert (event.request_id, event.channel) == ("trace-12345678", "api")
