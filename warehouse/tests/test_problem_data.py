"""A3 problem data as a case (SYS Art. 17(2), 28): problem rows the quality checks kept out of a batch, or
a problem found in a resource's data by cross-verification, are assigned by the bureau (or the service
centre it designates) to the providing agency, which verifies and corrects them within 5 working days and
reports what it did; the assigner accepts the report or returns it."""

import csv
import random

import pytest
from django.utils import timezone

from audit.models import Event
from catalog.models import Resource
from core.models import Notification
from core.workdays import add_workdays
from foundation.errors import Conflict, PermissionDenied, ValidationFailed
from foundation.identifiers import random_citizen_id
from warehouse.models import QualityIssue
from warehouse.services import assign_problem_data, ingest_file, report_problem_data
from workflow.models import Case
from workflow.services import transition

pytestmark = pytest.mark.django_db
HEADER = ["公民身份号码", "姓名", "性别", "出生日期", "民族", "户籍地址", "户号", "户籍地区划代码"]


@pytest.fixture
def household():
    return Resource.objects.get(name="户籍人口基本信息")


@pytest.fixture
def batch(tmp_path, city, household):
    """A delivery of the police with two problem rows kept out (one inconsistent, one duplicate)."""
    rng = random.Random(3)
    rows = []
    for i in range(200):
        cid = random_citizen_id(rng, "230502")
        rows.append([cid, "张伟", "男" if int(cid[16]) % 2 else "女", f"{cid[6:10]}-{cid[10:12]}-{cid[12:14]}", "汉族",
                     f"双鸭山市尖山区幸福路{i}号", f"H{i:08d}", "230502"])
    rows[10][3] = "1999-01-01"
    rows[20] = list(rows[21])
    path = tmp_path / "batch.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([HEADER] + rows)
    batch = ingest_file(city.actor("officer"), household, path)
    assert batch.status == "published" and batch.issues.count() == 2
    return batch


def test_problem_rows_go_to_the_provider_to_verify_and_correct_within_5_wd_A3(city, batch):
    case = assign_problem_data(city.actor("bureau"), batch)
    assert (case.case_type, case.state, case.assignee) == ("problem_data", "fixing", city.police)
    assert case.due_on == add_workdays(timezone.localdate(), 5) and case.deadline_citation.startswith("SYS Art. 28(2)")
    assert case.subject == batch and set(batch.issues.values_list("status", flat=True)) == {"assigned"}
    assert Notification.objects.filter(organisation=city.police, link=f"/cases/{case.number}/").exists()
    assert Event.objects.filter(action="warehouse.assign_problem_data", object_id=str(batch.pk)).exists()
    with pytest.raises(Conflict) as again:
        assign_problem_data(city.actor("bureau"), batch)  # one open assignment per batch
    assert again.value.code == "already_assigned"


def test_the_provider_reports_and_the_assigner_accepts_or_returns_A3(city, batch):
    case = assign_problem_data(city.actor("bureau"), batch, comment="请核实两处问题数据")
    with pytest.raises(PermissionDenied):
        transition(city.actor("cdo_civil_affairs"), case, "report", comment="x")  # not the provider
    with pytest.raises(ValidationFailed):
        transition(city.actor("staff"), case, "report")  # the report says what was done
    case = transition(city.actor("staff"), case, "report", comment="已核对户籍档案，重新报送正确数据")
    assert (case.state, case.assignee) == ("reviewing", city.bureau) and case.deadline_rule == "quality.problem_review"
    with pytest.raises(PermissionDenied):
        transition(city.actor("officer"), case, "accept")  # the provider does not close its own assignment
    case = transition(city.actor("bureau"), case, "return", comment="出生日期仍不一致")
    assert (case.state, case.assignee) == ("fixing", city.police)
    assert set(batch.issues.values_list("status", flat=True)) == {"assigned"}
    transition(city.actor("staff"), case, "report", comment="已更正出生日期")
    case = transition(city.actor("bureau"), case, "accept")
    assert case.state == "resolved" and case.closed_at is not None
    assert set(batch.issues.values_list("status", flat=True)) == {"corrected"}
    assert Event.objects.filter(action="warehouse.resolve_problem_data", object_id=str(batch.pk)).exists()
    assert Notification.objects.filter(organisation=city.bureau, link=f"/cases/{case.number}/", message__contains="已处理").count() == 1


@pytest.mark.parametrize("username", ["cdo_civil_affairs", "officer", "staff", "county_bureau", "supervisor"])
def test_only_the_bureau_over_the_provider_or_the_centre_assigns_A3(city, batch, username):
    with pytest.raises(PermissionDenied):
        assign_problem_data(city.actor(username), batch)
    assert not Case.objects.filter(case_type="problem_data").exists()
    assert set(batch.issues.values_list("status", flat=True)) == {"open"}
    refusal = Event.objects.order_by("-seq").first()
    assert (refusal.action, refusal.outcome) == ("warehouse.assign_problem_data", "refused")


def test_a_batch_without_problem_rows_has_nothing_to_assign_A3(city, batch):
    batch.issues.update(status=QualityIssue.Status.CORRECTED)
    with pytest.raises(Conflict) as exc:
        assign_problem_data(city.actor("centre"), batch)
    assert exc.value.code == "no_problems" and not Case.objects.filter(case_type="problem_data").exists()


def test_a_problem_found_by_cross_verification_is_kept_and_assigned_alone_A3(city, batch, household):
    with pytest.raises(ValidationFailed) as exc:
        report_problem_data(city.actor("centre"), household, column="no_such_item", message="")
    assert set(exc.value.errors) == {"column", "message"}
    case = report_problem_data(city.actor("centre"), household, column="name", value="张伟",
                               message="与民政婚姻登记信息交叉核验，姓名不一致")
    issue = case.subject
    assert (issue.rule, issue.status, issue.batch) == ("reported", "assigned", batch)  # the batch in force
    assert (case.assignee, case.party("assigner")) == (city.police, city.centre.pk)
    transition(city.actor("officer"), case, "report", comment="已更正")
    transition(city.actor("centre"), case, "accept")
    assert QualityIssue.objects.get(pk=issue.pk).status == "corrected"
    assert set(batch.issues.exclude(pk=issue.pk).values_list("status", flat=True)) == {"open"}  # the checks' rows wait


def test_problem_data_is_assigned_from_the_batch_page_and_the_api_A3(city, batch, sign_in, client):
    """The bureau assigns a batch's problem rows from its page (landing on the case) or by the API (201 with
    the case); a second assignment is a conflict; the provider itself sees no assign form."""
    from core.services import issue_token

    page = sign_in("officer").get(f"/data/batches/{batch.pk}/").content.decode()
    assert 'id="assign"' not in page  # the provider does not assign to itself
    client.logout()
    bureau = sign_in("bureau")
    assert 'id="assign"' in bureau.get(f"/data/batches/{batch.pk}/").content.decode()
    response = bureau.post(f"/data/batches/{batch.pk}/", {"comment": "请核实校验码"})
    case = Case.objects.get(case_type="problem_data", subject_id=str(batch.pk))
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.number}/"
    assert case.assignee == city.police and case.due_on is not None
    token = issue_token(city.actor("bureau"), name="t", scopes=["read", "write"])[1]
    again = client.post(f"/api/v1/data/batches/{batch.pk}/assign", {}, content_type="application/json",
                        HTTP_AUTHORIZATION=f"Bearer {token}")
    assert again.status_code == 409 and again.json()["code"] == "already_assigned"


def test_a_problem_found_outside_the_checks_is_reported_by_the_api_A3(city, household, batch, client):
    from core.services import issue_token

    token = issue_token(city.actor("centre"), name="t", scopes=["read", "write"])[1]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    response = client.post(f"/api/v1/data/{household.pk}/problems", {"column": "address", "message": "比对发现地址与不动产登记不一致",
                           "value": "幸福路1号"}, content_type="application/json", **headers)
    assert response.status_code == 201 and response.json()["case_type"] == "problem_data"
    bad = client.post(f"/api/v1/data/{household.pk}/problems", {"column": "nope", "message": ""},
                      content_type="application/json", **headers)
    assert bad.status_code == 422 and bad.json()["field"] in ("column", "message")
    officer = issue_token(city.actor("officer"), name="t", scopes=["read", "write"])[1]
    own = client.post(f"/api/v1/data/{household.pk}/problems", {"column": "address", "message": "x"},
                      content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {officer}")
    assert own.status_code in (403, 409)
