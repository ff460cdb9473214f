"""The supervisor's view (issue 14 item 9): its region's overdue cases and the misuse monitor's open findings
on one page; nobody else's, and not for an agency."""

import datetime as dt

import pytest

from sharing import services
from workflow.models import Case

pytestmark = pytest.mark.django_db


def test_overdue_cases_and_open_misuse_findings_on_one_page_S7(city, small_city, sign_in):
    from workflow.tests.test_case_types import _grant

    grant = _grant(city)
    finding = services._open_rectification(services.machine_monitor(grant.resource.provider), grant, "idle", "3个月未调用")
    late = Case.objects.filter(closed_at=None, applicant__region__path__startswith="/230500/").exclude(pk=finding.case.pk).first()
    Case.objects.filter(pk=late.pk).update(due_on=dt.date(2026, 1, 5), due_at=None)
    theirs = Case.objects.filter(closed_at=None, applicant__region__path__startswith="/230600/").first()
    if theirs:
        Case.objects.filter(pk=theirs.pk).update(due_on=dt.date(2026, 1, 5), due_at=None)
    page = sign_in("supervisor").get("/share/supervision/").content.decode()
    overdue, findings = page[page.index('id="overdue"'):page.index('id="findings"')], page[page.index('id="findings"'):]
    assert late.number in overdue and finding.case.number in findings and grant.ref in findings
    if theirs:
        assert theirs.number not in page  # another city's
    assert "监督" in sign_in("bureau").get("/").content.decode()


def test_an_agency_may_not_open_the_supervision_page_P2(sign_in):
    assert sign_in("officer").get("/share/supervision/").status_code == 403


def test_a_demand_goes_to_a_provider_of_the_applicant_s_city_P2_S8(city, small_city, sign_in):
    """Another city's bodies are not offered on the demand form, and a demand addressed to one is refused:
    data of another city is asked for across levels (S9)."""
    from foundation.errors import ValidationFailed
    from sharing.models import Demand

    page = sign_in("cdo_civil_affairs").get("/share/new/demand/").content.decode()
    assert city.police.name in page and small_city.police.name not in page
    before = Demand.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        services.raise_demand(city.actor("cdo_civil_affairs"), provider=small_city.police, data="户籍",
                              scenario="核验", basis="条例")
    assert "provider" in refused.value.errors and Demand.objects.count() == before
