"""Data-governance requests (issue 14 item 5, SYS Art. 17(3)): an agency asks the bureau of its level to
govern data with it; the bureau answers within the rulebook's deadline; bad requests change nothing."""

import pytest

from audit.models import Event
from catalog.models import Resource
from core import workdays
from foundation import rulebook
from foundation.errors import PermissionDenied, ValidationFailed
from warehouse.models import GovernanceRequest
from warehouse.services import request_governance
from workflow.services import transition

pytestmark = pytest.mark.django_db


def test_an_agency_asks_its_bureau_and_the_bureau_takes_it_into_its_plan_A3(city, sign_in):
    household = Resource.objects.get(name="户籍人口基本信息")
    client = sign_in("cdo_civil_affairs")
    assert 'id="governance"' in client.get("/data/governance/").content.decode()
    response = client.post("/data/governance/", {"subject": "婚姻登记与户籍地址不一致", "resources": [household.pk],
                                                 "detail": "两部门的住址口径不同，请统筹比对治理"})
    made = GovernanceRequest.objects.get(applicant=city.civil)
    case = made.case
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.number}/"
    assert case.assignee == city.bureau and list(made.resources.all()) == [household]
    assert case.due_on == workdays.add_workdays(case.state_entered_on, rulebook.deadline("governance.answer"))
    assert Event.objects.filter(action="warehouse.request_governance", object_id=str(made.pk)).count() == 1
    assert made.subject in sign_in("bureau").get("/data/governance/").content.decode()  # the bureau's list
    case = transition(city.actor("bureau"), case, "plan", comment="纳入二季度人口数据治理，6月底前完成住址标准化")
    assert case.state == "planned" and case.closed_at


def test_an_incomplete_or_foreign_request_changes_nothing_A3(city, small_city):
    before = GovernanceRequest.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        request_governance(city.actor("cdo_civil_affairs"), subject=" ", detail="")
    assert set(refused.value.errors) == {"subject", "detail"}
    draft = Resource.objects.filter(published_version__isnull=True).exclude(provider=city.civil).first()
    if draft is not None:
        with pytest.raises(ValidationFailed):
            request_governance(city.actor("cdo_civil_affairs"), subject="x", detail="y", resources=[draft])
    with pytest.raises(PermissionDenied):
        request_governance(city.actor("public"), subject="x", detail="y")
    assert GovernanceRequest.objects.count() == before
    theirs = request_governance(small_city.actor("cdo_civil"), subject="大庆的治理需求", detail="…")
    assert theirs.case.assignee == small_city.bureau  # the bureau of its own level, not another city's


def test_the_api_takes_a_governance_request_A3(city, client):
    from core.services import issue_token

    token = issue_token(city.actor("cdo_civil_affairs"), name="t", scopes=["read", "write"])[1]
    response = client.post("/api/v1/data/governance-requests", {"subject": "地址标准化", "detail": "请统筹"},
                           content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 201 and response.json()["case_type"] == "governance_request"
    bad = client.post("/api/v1/data/governance-requests", {"subject": "", "detail": ""},
                      content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert bad.status_code == 422 and set(bad.json()) == {"code", "message", "field"}
