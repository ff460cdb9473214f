"""The sharing overview's charts agree with its tables (issue 14 item 10): the requests-by-state chart counts
the requests the table below it lists, state by state."""

import datetime as dt
from collections import Counter

import pytest
from django.utils import timezone

from catalog.models import Resource
from sharing import selectors, services
from workflow.services import transition

pytestmark = pytest.mark.django_db


def _request(city, username, scenario):
    household = Resource.objects.get(name="户籍人口基本信息")
    return services.request_share(city.actor(username), household, scenario=scenario, basis="条例", method="api",
                                  items=["citizen_id"], valid_until=timezone.localdate() + dt.timedelta(days=30))


def test_requests_by_state_count_every_request_of_the_table_S3(city, sign_in):
    """Two granted and two pending requests more than the demo's: each state's bar is the number of rows of
    that state in the requests table (it was 1 per state: the table's ordering split every group)."""
    for username, scenario in (("cdo_civil_affairs", "婚姻登记核验"), ("cdo_health", "出生医学证明核验")):
        transition(city.actor("officer"), _request(city, username, scenario).case, "agree")
        _request(city, username, scenario + "（补充）")
    bureau = city.actor("bureau")
    listed = Counter(r.case.state_label for r in selectors.requests_for(bureau))
    charted = {row["state"]: row["n"] for row in selectors.dashboard(bureau)["states"]}
    assert charted == dict(listed)
    assert max(charted.values()) >= 2

    page = sign_in("bureau").get("/share/")
    assert page.status_code == 200
    shown = {row["state"]: row["n"] for row in page.context["board"]["states"]}
    assert shown == dict(listed) and sum(shown.values()) == len(page.context["requests"])


def test_a_grant_page_says_what_its_chart_adds_up_to_S4(city, sign_in):
    """The totals count every call; the chart the last days only: the page says which, and its sum."""
    from sharing.models import Grant

    request = _request(city, "cdo_civil_affairs", "婚姻登记核验")
    transition(city.actor("officer"), request.case, "agree")
    grant = Grant.objects.get(request=request)
    person = selectors.grant_statistics(grant)  # no call yet
    assert person["recent"]["calls"] == 0
    from warehouse import query

    key = query.arrow_of(query.snapshot_of(grant.resource)).column("citizen_id")[0].as_py()
    for _ in range(3):
        services.call(city.actor("cdo_civil_affairs", channel="api"), grant.ref, filters={"citizen_id": key}, purpose=grant.purpose)
    stats = selectors.grant_statistics(grant)
    assert stats["recent"]["calls"] == sum(r["n"] for r in stats["per_day"]) == stats["calls"] == 3
    page = sign_in("cdo_civil_affairs").get(f"/share/grants/{grant.ref}/")
    assert "近 90 天每日调用（共 3 次）" in page.content.decode()


def test_the_holder_looks_up_a_record_from_the_grant_page_with_a_receipt_S4(city, sign_in):
    """The grant page has a lookup form for its holder: on the access path (items, masking, receipt), the
    item names as headers; others see no form, and a lookup without the grant's purpose is refused."""
    from audit.models import Event
    from sharing.models import Grant
    from warehouse import query

    request = _request(city, "cdo_civil_affairs", "婚姻登记核验")
    transition(city.actor("officer"), request.case, "agree")
    grant = Grant.objects.get(request=request)
    key = query.arrow_of(query.snapshot_of(grant.resource)).column("citizen_id")[0].as_py()
    client = sign_in("cdo_civil_affairs")
    assert 'id="lookup"' in client.get(f"/share/grants/{grant.ref}/").content.decode()
    page = client.post(f"/share/grants/{grant.ref}/", {"action": "lookup", "column": "citizen_id", "value": key,
                                                       "purpose": grant.purpose}).content.decode()
    assert 'id="lookup-answer"' in page and "<th>公民身份号码</th>" in page
    receipt = Event.objects.filter(action="warehouse.query").latest("seq")
    assert f"#{receipt.seq} {receipt.hash}" in page
    shown = page[page.index('id="lookup-answer"'):]
    assert key not in shown[:shown.index("</div>")]  # masked by grade, as through the API
    refused = client.post(f"/share/grants/{grant.ref}/", {"action": "lookup", "column": "citizen_id", "value": key,
                                                          "purpose": "别的用途"}).content.decode()
    assert 'id="lookup-answer"' not in refused and "flash error" in refused
    assert 'id="lookup"' not in sign_in("officer").get(f"/share/grants/{grant.ref}/").content.decode()  # the provider


def test_the_holder_asks_for_onward_provision_from_the_page_and_the_api_S7(city, sign_in, client):
    """S7, SYS Art. 33: the form on the grant page and POST /share/grants/{ref}/onward open the provider's
    consent case; items outside the grant are refused and nothing is opened."""
    from core.models import Organisation
    from core.services import issue_token
    from sharing.models import Grant, OnwardProvision

    request = _request(city, "cdo_civil_affairs", "婚姻登记核验")
    transition(city.actor("officer"), request.case, "agree")
    grant = Grant.objects.get(request=request)
    health = Organisation.objects.get(name="双鸭山市卫生健康委员会")
    page = sign_in("cdo_civil_affairs").get(f"/share/grants/{grant.ref}/").content.decode()
    assert 'id="onward"' in page and health.name in page
    response = sign_in("cdo_civil_affairs").post(f"/share/grants/{grant.ref}/", {
        "action": "onward", "recipient": health.pk, "purpose": "出生一件事联办", "items": ["citizen_id"]})
    onward = OnwardProvision.objects.get(grant=grant)
    assert response.status_code == 302 and response["Location"] == f"/cases/{onward.case.number}/"
    assert onward.case.assignee == city.police
    token = issue_token(city.actor("cdo_civil_affairs"), name="t", scopes=["read", "write"])[1]
    refused = client.post(f"/api/v1/share/grants/{grant.ref}/onward", {"recipient": health.pk, "purpose": "x", "items": ["salary"]},
                          content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert refused.status_code == 422 and refused.json()["field"] == "items"
    made = client.post(f"/api/v1/share/grants/{grant.ref}/onward", {"recipient": health.pk, "purpose": "另一用途",
                       "items": ["citizen_id"]}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert made.status_code == 201 and made.json()["case_type"] == "onward_provision"
    assert OnwardProvision.objects.filter(grant=grant).count() == 2
    assert 'id="onward"' not in sign_in("officer").get(f"/share/grants/{grant.ref}/").content.decode()  # not the provider


def test_the_holder_reports_effect_storage_and_destruction_A6(city, sign_in, client):
    """SYS Art. 20: the obtaining agency's log holds the effect, storage and destruction of the data it got;
    an ended grant asks for the destruction report; the provider reads the reports; bad reports change nothing."""
    from audit.models import Event
    from core.services import issue_token
    from foundation.errors import PermissionDenied, ValidationFailed
    from sharing.models import Grant, UseReport

    request = _request(city, "cdo_civil_affairs", "婚姻登记核验")
    transition(city.actor("officer"), request.case, "agree")
    grant = Grant.objects.get(request=request)
    holder = sign_in("cdo_civil_affairs")
    holder.post(f"/share/grants/{grant.ref}/", {"action": "report", "kind": "effect", "text": "婚姻登记核验 120 件，办理提速"})
    token = issue_token(city.actor("cdo_civil_affairs"), name="t", scopes=["read", "write"])[1]
    made = client.post(f"/api/v1/share/grants/{grant.ref}/use-reports", {"kind": "storage", "text": "不落地，仅内存比对"},
                       content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert made.status_code == 201 and made.json()["kind"] == "storage"
    bad = client.post(f"/api/v1/share/grants/{grant.ref}/use-reports", {"kind": "gossip", "text": ""},
                      content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert bad.status_code == 422
    with pytest.raises(PermissionDenied):
        services.report_use(city.actor("officer"), grant, kind="effect", text="x")  # the provider is not the holder
    with pytest.raises(ValidationFailed):
        services.report_use(city.actor("cdo_civil_affairs"), grant, kind="effect", text="x",
                            on=timezone.localdate() + dt.timedelta(days=1))
    assert UseReport.objects.filter(grant=grant).count() == 2
    assert Event.objects.filter(action="sharing.report_use", object_id=str(grant.pk), outcome="ok").count() == 2
    page = sign_in("officer").get(f"/share/grants/{grant.ref}/").content.decode()
    assert "婚姻登记核验 120 件" in page and "不落地" in page  # the provider reads them

    Grant.objects.filter(pk=grant.pk).update(status="expired")  # the grant ended (its lifecycle is tested elsewhere)
    page = sign_in("cdo_civil_affairs").get(f"/share/grants/{grant.ref}/").content.decode()
    assert 'id="destruction-due"' in page
    services.report_use(city.actor("cdo_civil_affairs"), grant, kind="destruction", text="已删除全部缓存")
    assert 'id="destruction-due"' not in sign_in("cdo_civil_affairs").get(f"/share/grants/{grant.ref}/").content.decode()
