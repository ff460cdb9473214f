"""The catalog update duty after a change of legal basis (issue 14 item 8, SYS Art. 13(1)): the provider
records the change and its day; the update is due within catalog.update working days of that day, and
submitting it ends the duty; bad records change nothing."""

import datetime as dt

import pytest
from django.utils import timezone

from catalog.models import Resource
from catalog.services import record_basis_change, submit_resource, update_draft
from core.workdays import add_workdays
from foundation import rulebook
from foundation.errors import Conflict, PermissionDenied, ValidationFailed
from workflow.models import Case

pytestmark = pytest.mark.django_db


def test_the_update_is_due_from_the_day_of_the_change_and_submitting_it_ends_the_duty_C2(city, sign_in):
    household = Resource.objects.get(name="户籍人口基本信息")
    changed = timezone.localdate() - dt.timedelta(days=3)
    page = sign_in("officer").get(f"/catalog/{household.pk}/").content.decode()
    assert 'id="basis-change"' in page
    response = sign_in("officer").post(f"/catalog/{household.pk}/basis-change/",
                                       {"changed_on": changed.isoformat(), "change": "《户口登记条例》修订"})
    duty = Case.objects.get(case_type="catalog_update_duty", subject_id=str(household.pk))
    assert response.status_code == 302 and response["Location"] == f"/cases/{duty.number}/"
    assert duty.due_on == add_workdays(changed, rulebook.deadline("catalog.update")) and duty.assignee == city.police
    with pytest.raises(Conflict):
        record_basis_change(city.actor("officer"), household, changed_on=changed, change="again")
    update_draft(city.actor("officer"), household, fields={"legal_basis": household.legal_basis + "《户口登记条例（修订）》",
                                                            "change_reason": "依据修订"})
    review = submit_resource(city.actor("officer"), household)
    duty.refresh_from_db()
    assert duty.state == "submitted" and duty.closed_at and review.case_type == "catalog_update_review"


def test_a_bad_record_changes_nothing_C2(city):
    household = Resource.objects.get(name="户籍人口基本信息")
    before = Case.objects.filter(case_type="catalog_update_duty").count()
    with pytest.raises(ValidationFailed) as refused:
        record_basis_change(city.actor("officer"), household, changed_on=timezone.localdate() + dt.timedelta(days=1), change=" ")
    assert set(refused.value.errors) == {"changed_on", "change"}
    with pytest.raises(PermissionDenied):
        record_basis_change(city.actor("cdo_civil_affairs"), household, changed_on=timezone.localdate(), change="x")
    assert Case.objects.filter(case_type="catalog_update_duty").count() == before


def test_the_api_records_a_change_of_legal_basis_C2(city, client):
    from core.services import issue_token

    household = Resource.objects.get(name="户籍人口基本信息")
    token = issue_token(city.actor("officer"), name="t", scopes=["read", "write"])[1]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    url = f"/api/v1/catalog/resources/{household.pk}/basis-changes"
    bad = client.post(url, {"changed_on": "2999-01-01", "change": "x"}, content_type="application/json", **headers)
    assert bad.status_code == 422 and bad.json()["field"] == "changed_on"
    made = client.post(url, {"changed_on": timezone.localdate().isoformat(), "change": "职责调整"},
                       content_type="application/json", **headers)
    assert made.status_code == 201 and made.json()["case_type"] == "catalog_update_duty"
    again = client.post(url, {"changed_on": timezone.localdate().isoformat(), "change": "再次"}, content_type="application/json",
                        **headers)
    assert again.status_code == 409 and again.json()["code"] == "duty_open"
