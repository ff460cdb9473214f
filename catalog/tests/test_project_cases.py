"""C3 as a case (SYS Art. 14): a budget-funded project's filing of its catalog is reviewed by the bureau of
its level within the rulebook's deadline; acceptance, from the service or from the case page, checks that
every entry it filed is published and its data mounted."""

import datetime as dt

import pytest
from django.utils import timezone

from catalog.models import Project, Resource
from catalog.services import accept_project, draft_resource, register_project
from catalog.tests.factories import entry_fields, entry_items
from core.models import Notification
from core.workdays import add_workdays
from foundation.errors import PermissionDenied, ValidationFailed
from workflow import selectors
from workflow.models import Case
from workflow.selectors import case_of
from workflow.services import transition

pytestmark = pytest.mark.django_db


@pytest.fixture
def household():
    return Resource.objects.get(name="户籍人口基本信息")


def _register(city, resources):
    project = register_project(city.actor("officer"), name="智慧公安平台", approved_on=dt.date(2026, 3, 1), resources=resources)
    return project, case_of(project, "information_system_project")


def test_the_filing_is_reviewed_by_the_bureau_of_the_owners_level_C3(city, household):
    project, case = _register(city, [household])
    assert (case.state, case.assignee, case.applicant) == ("filing_review", city.bureau, city.police)
    assert case.due_on == add_workdays(timezone.localdate(), 5) and case.deadline_citation == "SYS Art. 14"
    assert case in selectors.queue(city.actor("bureau"))
    with pytest.raises(PermissionDenied):
        transition(city.actor("county_bureau"), case, "file")
    with pytest.raises(ValidationFailed):
        transition(city.actor("bureau"), case, "return")  # a return says what to fix
    case = transition(city.actor("bureau"), case, "return", comment="缺少项目涉及的人口基础信息目录")
    assert (case.state, case.assignee, case.deadline_rule) == ("returned", city.police, "project.revise")
    case = transition(city.actor("officer"), case, "resubmit")
    case = transition(city.actor("bureau"), case, "file")
    assert (case.state, case.assignee, case.due_on, case.closed_at) == ("filed", None, None, None)
    assert project.status == Project.Status.APPROVED


def test_acceptance_on_the_case_page_checks_the_catalog_and_the_data_C3(city, household):
    draft = draft_resource(city.actor("officer"), fields=entry_fields(), items=entry_items())
    project, case = _register(city, [draft, household])
    transition(city.actor("bureau"), case, "file")
    with pytest.raises(ValidationFailed) as exc:
        transition(city.actor("officer"), case, "accept")
    assert "目录尚未发布" in exc.value.message
    assert Case.objects.get(pk=case.pk).state == "filed" and Project.objects.get(pk=project.pk).status == "approved"
    with pytest.raises(PermissionDenied):
        transition(city.actor("cdo_civil_affairs"), case, "accept")  # only the owner
    project.resources.set([household])
    case = transition(city.actor("officer"), case, "accept")
    project.refresh_from_db()
    assert (project.status, project.accepted_on) == (Project.Status.ACCEPTED, timezone.localdate())
    assert case.state == "accepted" and case.closed_at is not None
    assert Notification.objects.filter(organisation=city.police, link=f"/cases/{case.number}/", message__contains="已验收").count() == 1


def test_accepting_by_the_service_closes_the_case_C3(city, household):
    project, case = _register(city, [household])
    project = accept_project(city.actor("officer"), project, accepted_on=dt.date(2026, 10, 9))
    assert project.accepted_on == dt.date(2026, 10, 9)
    case.refresh_from_db()
    assert case.state == "accepted" and [s.transition for s in case.steps.all()] == ["open", "accept"]
    assert case_of(project, "information_system_project", open_only=True) is None
