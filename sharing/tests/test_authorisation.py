"""The authorisation matrix of sharing (S3, S4, S7): who may do what to whom, over the HTTP API with each
demo user's own token. Every refusal is a structured error, changes nothing and is audited."""

import datetime as dt

import pytest
from django.utils import timezone

from audit.models import Event
from catalog.models import Resource
from core.services import issue_token
from sharing import services
from sharing.models import Grant
from warehouse import query
from workflow.services import transition

pytestmark = pytest.mark.django_db
USERS = ["bureau", "centre", "officer", "staff", "cdo_civil_affairs", "cdo_health", "operator", "developer", "public",
         "supervisor", "expert"]

# action -> users allowed (everyone else is refused)
ALLOWED = {
    "lookup": {"cdo_civil_affairs"},  # the holder's members only
    "batch_query": {"cdo_civil_affairs"},
    "revoke": {"officer", "bureau"},  # the provider's data officer; the bureau over the provider's region
    "decide": {"officer"},  # a conditional request: the provider's data officer
    "request": {"officer", "staff", "cdo_civil_affairs", "cdo_health"},  # agency members (not for their own data)
    "view_grant": {"cdo_civil_affairs", "officer", "staff", "bureau", "centre", "supervisor"},
}


@pytest.fixture
def setting(city):
    household = Resource.objects.get(name="户籍人口基本信息")
    request = services.request_share(city.actor("cdo_civil_affairs"), household, scenario="婚姻登记核验", basis="条例",
                                     method="api", items=["citizen_id", "name"],
                                     valid_until=timezone.localdate() + dt.timedelta(days=30))
    transition(city.actor("officer"), request.case, "agree")
    pending = services.request_share(city.actor("cdo_health"), household, scenario="出生医学证明核验", basis="条例",
                                     method="api", items=["citizen_id"], valid_until=timezone.localdate() + dt.timedelta(days=30))
    person = query.arrow_of(query.snapshot_of(household)).slice(0, 1).to_pylist()[0]
    return {"grant": Grant.objects.get(request=request), "pending": pending, "person": person,
            "entities": Resource.objects.get(name="公交线路与站点信息")}


def _headers(city, username):
    token = issue_token(city.actor(username), name="matrix", scopes=["read", "write"])[1]
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _do(client, headers, action, setting):
    grant, person = setting["grant"], setting["person"]
    if action == "lookup":
        return client.get(f"/api/v1/share/{grant.ref}/records", {"citizen_id": person["citizen_id"], "purpose": "婚姻登记核验"},
                          **headers)
    if action == "batch_query":
        return client.post(f"/api/v1/share/{grant.ref}/query", {"sql": "SELECT count(*) AS n FROM data", "purpose": "婚姻登记核验"},
                           content_type="application/json", **headers)
    if action == "revoke":
        return client.post(f"/api/v1/share/grants/{grant.ref}/revoke", {"reason": "矩阵测试"}, content_type="application/json",
                           **headers)
    if action == "decide":
        return client.post(f"/api/v1/cases/{setting['pending'].case.number}/transitions", {"name": "agree"},
                           content_type="application/json", **headers)
    if action == "request":
        return client.post("/api/v1/share/requests", {
            "resource": setting["entities"].pk, "scenario": "出行服务", "basis": "职责", "method": "api", "items": ["line_no"],
            "valid_until": str(timezone.localdate() + dt.timedelta(days=10))}, content_type="application/json", **headers)
    if action == "view_grant":
        return client.get(f"/api/v1/share/grants/{grant.ref}", **headers)
    raise AssertionError(action)


@pytest.mark.parametrize("action", sorted(ALLOWED))
@pytest.mark.parametrize("username", USERS)
def test_sharing_authorisation_matrix_S3_S4(client, city, setting, username, action):
    events = Event.objects.count()
    response = _do(client, _headers(city, username), action, setting)
    if username in ALLOWED[action]:
        assert response.status_code in (200, 201), (username, action, response.content)
        return
    assert response.status_code in (403, 404, 409), (username, action, response.status_code, response.content)
    body = response.json()
    assert set(body) == {"code", "message", "field"}
    grant = Grant.objects.get(pk=setting["grant"].pk)
    assert grant.status == "active" and setting["pending"].case.__class__.objects.get(pk=setting["pending"].case.pk).state == "provider_review"
    if response.status_code == 403:
        assert Event.objects.filter(seq__gt=events, outcome="refused").exists()  # the refusal is in the audit chain
