"""Every error in its surface's shape (issue 12, items 8 and the refusal audit): under /api/v1/ each response
that is not 2xx is ``{"code", "message", "field"}`` JSON and documented on its operation; pages get plain
zh-Hans 404/400/413/500 pages; an id the database cannot hold is a 404 (path) or a 422 (query), never a 500;
an authenticated caller's refusal is audited once."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.urls import path
from django.utils import timezone

from audit.models import Event
from catalog.models import Resource
from core.services import issue_token
from gongshu.tests.test_api import _json_entry, api  # noqa: F401  (the token client fixture)
from gongshu.urls import urlpatterns as _urlpatterns
from gongshu.urls import handler400, handler403, handler404, handler500  # noqa: F401  (this module is a URLconf too)
from sharing import services as share_services
from sharing.models import Grant
from workflow.services import transition

pytestmark = pytest.mark.django_db

TOO_BIG = 2**70  # no 64-bit integer column holds it


def _boom(request):
    raise RuntimeError("secret detail: /var/lib/gongshu password=hunter2")


def _forbidden(request):
    raise DjangoPermissionDenied("secret detail: hunter2")


def _parses(request):
    """A view that trusts its input: int() of a form field, and of a constant (a bug, not bad input)."""
    return HttpResponse(int(request.POST.get("n") or "not a number"))


# Test-only URLs beside the real ones (ROOT_URLCONF is pointed here), with the project's own error handlers.
urlpatterns = [path("boom/", _boom), path("forbidden/", _forbidden), path("parses/", _parses), *_urlpatterns]


def assert_error_shape(response, status: int, code: str | None = None):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"code", "message", "field"}, body
    assert isinstance(body["code"], str) and body["code"] and isinstance(body["message"], str) and body["message"]
    assert body["field"] is None or isinstance(body["field"], str)
    if code:
        assert body["code"] == code, body
    return body


def _bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_400_for_a_body_that_is_not_json(api):
    """An unparsable body: 400 in the error shape (issue 12 item 8)."""
    officer = api("officer")
    response = Client().post("/api/v1/catalog/resources", "{not json", content_type="application/json", **officer._headers())
    assert_error_shape(response, 400)


def test_401_without_a_token(client):
    """P3: a call without a token is refused in the error shape."""
    assert_error_shape(client.get("/api/v1/me"), 401, "not_authenticated")


def test_403_for_a_read_only_token_that_writes(client, city):
    """P3: a read-only token that writes: 403, and nothing is written."""
    _, token = issue_token(city.actor("officer"), name="只读", scopes=["read"])
    response = client.post("/api/v1/catalog/resources", _json_entry(), content_type="application/json", **_bearer(token))
    assert_error_shape(response, 403, "token_scope")
    assert not Resource.objects.filter(name=_json_entry()["name"]).exists()


def test_404_for_an_unknown_object_and_an_unknown_path(api):
    """An unknown id and an unknown path under /api/v1/ (Django's own 404 was an HTML page)."""
    officer = api("officer")
    assert_error_shape(officer.get("/api/v1/catalog/resources/987654321"), 404, "not_found")
    assert_error_shape(officer.get("/api/v1/no/such/endpoint"), 404, "not_found")
    assert_error_shape(Client().get("/api/v1/no/such/endpoint"), 404, "not_found")


def test_405_is_json_and_names_the_allowed_methods(api):
    """Ninja answers a method a path has no operation for in plain text: here in the error shape."""
    response = Client().put("/api/v1/me", {}, content_type="application/json", **api("officer")._headers())
    assert_error_shape(response, 405, "method_not_allowed")
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET"}


def test_409_for_a_second_submission(api):
    """C2: an entry already in review cannot be submitted again."""
    officer = api("officer")
    rid = officer.post("/api/v1/catalog/resources", _json_entry()).json()["id"]
    assert officer.post(f"/api/v1/catalog/resources/{rid}/submit").status_code == 201
    assert_error_shape(officer.post(f"/api/v1/catalog/resources/{rid}/submit"), 409, "in_review")


def test_413_for_a_body_over_the_limit_is_json_and_changes_nothing(api, settings):
    """DATA_UPLOAD_MAX_MEMORY_SIZE: Django's RequestDataTooBig was an HTML 400."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    body = _json_entry() | {"summary": "很长的摘要" * 400}
    before = Resource.objects.count()
    body = assert_error_shape(api("officer").post("/api/v1/catalog/resources", body), 413, "too_large")
    assert "MB" in body["message"]
    assert Resource.objects.count() == before


def test_413_on_a_page_is_a_plain_chinese_page(client, settings):
    """A form over the limit: a zh-Hans 413 page, not Django's HTML 400."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    response = client.post("/login/", {"username": "x" * 3000, "password": "y"})
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert 'lang="zh-hans"' in page and "提交的内容过大" in page


def test_422_for_invalid_input(api):
    """A date that does not exist: 422 naming the parameter."""
    body = assert_error_shape(api("officer").get("/api/v1/workdays/add", start="2026-02-30", n=1), 422, "invalid")
    assert body["field"] == "start"


def test_429_with_retry_after_when_a_token_is_past_its_rate(api, settings):
    """P3: past the token's rate, 429 with Retry-After in the error shape."""
    settings.GONGSHU_RATE_TOKEN_PER_MINUTE = 2
    officer = api("officer")
    responses = [officer.get("/api/v1/me") for _ in range(3)]
    assert_error_shape(responses[-1], 429, "rate_limited")
    assert int(responses[-1]["Retry-After"]) >= 1


@pytest.mark.parametrize("url, field", [
    ("/api/v1/catalog/resources?provider={n}", "provider"),
    ("/api/v1/data/usage-logs?organisation={n}", "organisation"),
])
def test_an_id_too_big_for_the_database_in_the_query_is_422(api, url, field):
    """ids beyond 64 bits (an OverflowError in SQLite) are bad input, named by their parameter."""
    body = assert_error_shape(api("bureau").get(url.format(n=TOO_BIG)), 422, "invalid")
    assert body["field"] == field


def test_an_id_too_big_for_the_database_in_a_body_is_422_naming_the_field(api):
    """The same for an integer in a JSON body: checked before the operation runs, on every database."""
    rid = Resource.objects.filter(published_version__isnull=False).values_list("pk", flat=True).first()
    body = assert_error_shape(api("bureau").post(f"/api/v1/data/{rid}/query", {"purpose": "核验", "as_of": TOO_BIG}),
                              422, "invalid")
    assert body["field"] == "as_of"


def test_an_id_too_big_for_the_database_in_the_path_is_404_in_the_query_422(api):
    """A path id names no object (404); the version ``b`` of a comparison was an OverflowError (500)."""
    bureau = api("bureau")
    rid = Resource.objects.filter(published_version__isnull=False).values_list("pk", flat=True).first()
    assert_error_shape(bureau.get(f"/api/v1/catalog/resources/{TOO_BIG}"), 404, "not_found")
    body = assert_error_shape(bureau.get(f"/api/v1/catalog/resources/{rid}/compare?a=1&b={TOO_BIG}"), 422, "invalid")
    assert body["field"] == "b"


def test_500_under_the_api_is_json_without_the_traceback(api, monkeypatch, caplog):
    """An uncaught exception: logged with its traceback, answered with none of it."""
    def broken():
        raise RuntimeError("secret detail: /var/lib/gongshu password=hunter2")

    monkeypatch.setattr("foundation.rulebook.current", broken)
    response = api("officer").get("/api/v1/rules")
    assert_error_shape(response, 500, "server_error")
    assert b"hunter2" not in response.content and b"Traceback" not in response.content
    assert any(r.name == "gongshu.api" and r.exc_info for r in caplog.records)  # the traceback is in the log


def test_the_openapi_documents_the_errors_of_every_operation(client):
    """Each operation lists its error answers with the ``Error`` schema; an operation's own 422 body (a
    rejected batch) stays documented beside it."""
    spec = client.get("/api/v1/openapi.json").json()
    assert set(spec["components"]["schemas"]["Error"]["required"]) == {"code", "message", "field"}
    for route, operations in spec["paths"].items():
        for method, operation in operations.items():
            documented = set(operation["responses"])
            wanted = {"400", "401", "403", "404", "409", "422", "429", "500"} | ({"413"} if "requestBody" in operation else set())
            assert wanted <= documented, (method, route, wanted - documented)
    records = spec["paths"]["/api/v1/data/{resource_id}/records"]["post"]["responses"]["422"]
    assert {"$ref": "#/components/schemas/Error"} in records["content"]["application/json"]["schema"]["anyOf"]


# --- pages ----------------------------------------------------------------------------------------


def test_an_unknown_page_is_a_chinese_404_page(client):
    """A plain zh-Hans page in the site's frame, nothing about the server in it."""
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert 'lang="zh-hans"' in page and "页面不存在" in page and "Traceback" not in page


def test_a_bad_id_on_a_page_is_a_400_page_not_a_500(sign_in):
    """/catalog/?provider=abc raised the ORM's ValueError; a too-big id its OverflowError."""
    client = sign_in("officer")
    response = client.get("/catalog/", {"provider": "abc"})
    assert response.status_code == 400
    assert "请求的格式或参数不正确" in response.content.decode()
    # SQLite cannot bind the number (OverflowError: 400 here too); PostgreSQL compares it and finds nothing.
    response = client.get("/catalog/", {"provider": str(TOO_BIG)})
    assert response.status_code == (400 if connection.vendor == "sqlite" else 200)


def test_a_number_that_is_none_in_a_form_is_a_400_but_a_bug_stays_a_500(settings):
    """Only a value the request sent is bad input; the same ValueError from the code is a logged 500."""
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    assert client.post("/parses/", {"n": "12"}).content == b"12"
    assert client.post("/parses/", {"n": "十二"}).status_code == 400
    assert client.post("/parses/", {}).status_code == 500


def test_500_on_a_page_is_the_chinese_500_page(settings):
    """An uncaught exception on a page: the zh-Hans 500 page, without the exception's text."""
    settings.ROOT_URLCONF = __name__
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    page = response.content.decode()
    assert 'lang="zh-hans"' in page and "服务器错误" in page and "hunter2" not in page


def test_403_on_a_page_is_the_chinese_403_page(settings):
    """Django's PermissionDenied on a page: the zh-Hans 403 page."""
    settings.ROOT_URLCONF = __name__
    response = Client().get("/forbidden/")
    assert response.status_code == 403
    page = response.content.decode()
    assert 'lang="zh-hans"' in page and "无权访问" in page and "hunter2" not in page


def test_500_under_the_ckan_api_keeps_the_ckan_envelope(monkeypatch):
    """The CKAN-compatible API keeps its own envelope, for a crash too (never an HTML 500)."""
    def broken(*args, **kwargs):
        raise RuntimeError("secret detail: hunter2")

    monkeypatch.setattr("catalog.selectors.restrict", broken)
    response = Client(raise_request_exception=False).get("/api/3/action/package_list")
    assert response.status_code == 500
    body = response.json()
    assert body["success"] is False and body["error"]["__type"] == "Internal Server Error"
    assert b"hunter2" not in response.content


# --- refusals audited -------------------------------------------------------------------------------


def _refusals():
    return Event.objects.filter(outcome=Event.Outcome.REFUSED)


def test_another_organisations_object_is_404_and_one_refusal_event(api):
    """SEC1, SEC2 (issue 12): an authenticated refusal (404 as 403) is audited, exactly once."""
    draft = api("cdo_civil_affairs").post("/api/v1/catalog/resources", _json_entry())
    assert draft.status_code == 201, draft.json()
    seen = _refusals().count()
    response = api("officer").get(f"/api/v1/catalog/resources/{draft.json()['id']}")  # the police asks for civil affairs' draft
    assert_error_shape(response, 404, "not_found")
    events = list(_refusals().order_by("seq"))[seen:]
    assert len(events) == 1
    event = events[0]
    assert (event.action, event.actor_name, event.request_id) == ("api.request", "officer", response["X-Request-ID"])
    assert f"/api/v1/catalog/resources/{draft.json()['id']}" in event.summary


def test_a_refusal_a_service_audits_is_not_audited_twice(api):
    """SEC2: a @service records its own refusal after the rollback; the API's handler adds none."""
    staff = api("staff")
    rid = staff.post("/api/v1/catalog/resources", _json_entry()).json()["id"]
    seen = _refusals().count()
    response = staff.post(f"/api/v1/catalog/resources/{rid}/submit")  # agency staff draft, the data officer submits
    assert_error_shape(response, 403)
    events = list(_refusals().order_by("seq"))[seen:]
    assert [(e.action, e.request_id) for e in events] == [("catalog.submit_resource", response["X-Request-ID"])]


def test_a_refused_call_on_a_grant_is_audited_once(api, city):
    """S7, SEC2: the sharing call path counts and audits its own refusals; the API's handler adds none."""
    household = Resource.objects.get(name="户籍人口基本信息")
    request = share_services.request_share(city.actor("cdo_civil_affairs"), household, scenario="婚姻登记核验", basis="条例",
                                           method="api", items=["citizen_id", "name"],
                                           valid_until=timezone.localdate() + dt.timedelta(days=200))
    transition(city.actor("officer"), request.case, "agree")
    ref = Grant.objects.get(request=request).ref
    seen = _refusals().count()
    response = api("cdo_civil_affairs").get(f"/api/v1/share/{ref}/records", citizen_id="230502199001011234",
                                            purpose="婚姻登记核验", fields="citizen_id,address")
    assert_error_shape(response, 403, "over_scope")
    events = list(_refusals().order_by("seq"))[seen:]
    assert [(e.action, e.request_id) for e in events] == [("sharing.call", response["X-Request-ID"])]


def test_a_read_only_token_writing_is_audited_once(client, city):
    """SEC2, P3: the token's scope refusal is the API handler's to audit (core.auth leaves it to it)."""
    _, token = issue_token(city.actor("officer"), name="只读", scopes=["read"])
    seen = _refusals().count()
    response = client.post("/api/v1/catalog/resources", _json_entry(), content_type="application/json", **_bearer(token))
    assert_error_shape(response, 403, "token_scope")
    events = list(_refusals().order_by("seq"))[seen:]
    assert [e.request_id for e in events] == [response["X-Request-ID"]]


def test_refusals_without_a_known_caller_are_not_audited_as_one(client):
    """P3: 401s are counted per address and minute by core.auth, not audited one event each here."""
    seen = _refusals().count()
    assert_error_shape(client.get("/api/v1/catalog/resources/1"), 401)
    assert _refusals().count() == seen
