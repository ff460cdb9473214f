"""Corrections (S5, SYS Art. 28): a person or organisation disputes data about itself, or a user of the
data reports a mismatch; the provider verifies within 5 wd, and a correction is a new, traceable snapshot."""

import pytest
from django.utils import timezone

from foundation.errors import PermissionDenied, ValidationFailed
from core.models import Notification, User
from core.workdays import add_workdays
from catalog.models import Resource
from sharing import services
from sharing.models import Correction
from warehouse import query
from warehouse.models import Snapshot
from workflow.models import Case
from workflow.services import transition

pytestmark = pytest.mark.django_db


@pytest.fixture
def household():
    return Resource.objects.get(name="户籍人口基本信息")


@pytest.fixture
def resident(city, household):
    """The demo's public user, as one of the residents in the household register."""
    person = query.arrow_of(query.snapshot_of(household)).slice(3, 1).to_pylist()[0]
    User.objects.filter(username="public").update(citizen_id=person["citizen_id"])
    return person


def _raise(city, household, person, **overrides):
    fields = {"key": {"citizen_id": person["citizen_id"]}, "column": "name", "claimed_value": "孙市民",
              "reason": "户口本上的姓名为孙市民，登记有误", "source": "person"}
    return services.raise_correction(city.actor("public"), household, **{**fields, **overrides})


def test_a_persons_correction_is_verified_within_5_wd_and_becomes_a_new_snapshot_S5(city, household, resident):
    correction = _raise(city, household, resident)
    case = correction.case
    assert case.state == "verifying" and case.assignee == city.police
    assert case.due_on == add_workdays(timezone.localdate(), 5) and case.deadline_citation == "SYS Art. 28"
    before = query.snapshot_of(household)
    transition(city.actor("officer"), case, "correct", comment="经核对户籍档案，姓名已更正")
    household.refresh_from_db()
    after = query.snapshot_of(household)
    assert after.version == before.version + 1 and after.row_count == before.row_count
    officer = city.actor("officer")
    scope = query.scope_for(officer, household, purpose="核对")
    assert query.run(officer, household, scope=scope, filters={"citizen_id": resident["citizen_id"]}).records[0]["name"] == "孙市民"
    old = query.run(officer, household, scope=scope, filters={"citizen_id": resident["citizen_id"]}, as_of=before.version)
    assert old.records[0]["name"] == resident["name"]  # the earlier snapshot is kept
    correction.refresh_from_db()
    assert correction.batch.snapshot == after and correction.batch.channel == "correction" and correction.batch.filename == case.number
    assert Notification.objects.filter(user__username="public", message__contains="已更正").exists()


def test_nobody_disputes_data_about_someone_else_S5(city, household, resident):
    other = query.arrow_of(query.snapshot_of(household)).slice(4, 1).to_pylist()[0]
    before = Correction.objects.count()
    with pytest.raises(PermissionDenied) as refused:
        _raise(city, household, resident, key={"citizen_id": other["citizen_id"]})
    assert refused.value.code == "not_about_you"
    with pytest.raises(PermissionDenied):
        services.raise_correction(city.actor("cdo_health"), household, key={"citizen_id": other["citizen_id"]}, column="name",
                                  claimed_value="x", reason="比对不一致", source="cross_check")  # no grant, no oversight
    assert Correction.objects.count() == before


@pytest.mark.parametrize(("overrides", "field"), [
    ({"column": "citizen_id"}, "column"), ({"column": "salary"}, "column"), ({"claimed_value": " "}, "claimed_value"),
    ({"reason": ""}, "reason"),
])
def test_a_bad_correction_is_refused_and_opens_nothing_S5(city, household, resident, overrides, field):
    cases = Case.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        _raise(city, household, resident, **overrides)
    assert field in refused.value.errors and Case.objects.count() == cases


def test_a_correction_that_fails_the_quality_checks_changes_nothing_S5(city, household, resident):
    correction = _raise(city, household, resident, column="birth_date", claimed_value="1990-13-45")
    versions = Snapshot.objects.filter(resource=household).count()
    with pytest.raises(ValidationFailed) as refused:
        transition(city.actor("officer"), correction.case, "correct", comment="更正出生日期")
    assert refused.value.code == "quality"
    assert Case.objects.get(pk=correction.case.pk).state == "verifying"
    assert Snapshot.objects.filter(resource=household).count() == versions


def test_the_provider_may_find_the_data_right_and_must_say_why_S5(city, household, resident):
    correction = _raise(city, household, resident)
    with pytest.raises(ValidationFailed):
        transition(city.actor("officer"), correction.case, "reject")
    with pytest.raises(PermissionDenied):
        transition(city.actor("public"), correction.case, "correct", comment="自己改")
    transition(city.actor("officer"), correction.case, "reject", comment="与户籍档案一致，无需更正")
    assert Case.objects.get(pk=correction.case.pk).state == "rejected"


def test_a_grant_holder_reports_a_mismatch_found_by_cross_checking_S5(city, household, resident):
    import datetime as dt

    request = services.request_share(city.actor("cdo_civil_affairs"), household, scenario="婚姻登记核验", basis="条例", method="api",
                                     items=["citizen_id", "name"], valid_until=timezone.localdate() + dt.timedelta(days=30))
    transition(city.actor("officer"), request.case, "agree")
    correction = services.raise_correction(city.actor("cdo_civil_affairs"), household, key={"citizen_id": resident["citizen_id"]},
                                           column="name", claimed_value="孙市民", reason="与婚姻登记档案不一致",
                                           source="cross_check")
    assert correction.case.applicant == city.civil and correction.source == "cross_check"
