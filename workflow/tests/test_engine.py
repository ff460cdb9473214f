"""The one case engine: roles, parties, deadlines in working days, timeline, overdue detection."""

import datetime as dt

import pytest
from click.testing import CliRunner
from django.utils import timezone

from audit.models import Event
from catalog.services import draft_resource, submit_resource
from catalog.tests.factories import entry_fields, entry_items
from foundation.actor import system_actor
from foundation.errors import Conflict, PermissionDenied, ValidationFailed
from core.models import Notification
from gongshu.cli import main
from workflow import selectors
from workflow.engine import CaseType, State, Transition
from workflow.models import Case
from workflow.services import available_transitions, raise_overdue_cases, transition

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(small_city):
    officer = small_city.actor("officer")
    return submit_resource(officer, draft_resource(officer, fields=entry_fields(), items=entry_items()))


def _unchanged(case):
    fresh = Case.objects.get(pk=case.pk)
    return (fresh.state, fresh.steps.count()) == (case.state, 1)


@pytest.mark.parametrize("username", ["officer", "staff", "centre", "operator", "public", "supervisor"])
def test_a_transition_by_the_wrong_role_is_refused_and_audited(case, small_city, username):
    with pytest.raises(PermissionDenied) as exc:
        transition(small_city.actor(username), case, "approve")
    assert exc.value.code == "wrong_role"
    assert _unchanged(case)
    refusal = Event.objects.order_by("-seq").first()
    assert (refusal.action, refusal.outcome, refusal.object_id) == ("workflow.transition", "refused", str(case.pk))


def test_a_bureau_of_another_region_cannot_decide(case, small_city):
    with pytest.raises(PermissionDenied) as exc:
        transition(small_city.actor("county_bureau"), case, "approve")
    assert exc.value.code == "not_assigned"
    assert _unchanged(case)


def test_a_transition_from_the_wrong_state_is_refused(case, small_city):
    with pytest.raises(Conflict):
        transition(small_city.actor("bureau"), case, "publish")
    with pytest.raises(ValidationFailed):
        transition(small_city.actor("bureau"), case, "no_such_step")
    assert _unchanged(case)


def test_available_transitions_follow_role_and_party(case, small_city):
    assert {t.name for t in available_transitions(small_city.actor("bureau"), case)} == {"approve", "return"}
    assert available_transitions(small_city.actor("county_bureau"), case) == []
    assert {t.name for t in available_transitions(small_city.actor("officer"), case)} == {"withdraw"}


def test_county_entries_are_reviewed_by_the_county_bureau_first(small_city):
    cdo = small_city.actor("cdo_civil")
    # a county agency needs its own data officer
    from gongshu import factories

    user = factories.user(small_city.county_civil, "data_officer", username="dq_county_cdo", display_name="区民政首席")
    county = small_city.actor("county_cdo", small_city.county_civil)
    assert cdo.organisation != county.organisation and user
    case = submit_resource(county, draft_resource(county, fields=entry_fields(), items=entry_items()))
    assert case.assignee == small_city.county_bureau
    with pytest.raises(PermissionDenied):
        transition(small_city.actor("bureau"), case, "approve")
    case = transition(small_city.actor("county_bureau"), case, "approve")
    assert case.assignee == small_city.centre  # the small_city service centre consolidates (SYS Art. 12(4))
    case = transition(small_city.actor("centre"), case, "verify")
    assert case.assignee == small_city.bureau  # and the small_city bureau re-reviews


def _age(case, days):
    Case.objects.filter(pk=case.pk).update(due_on=timezone.localdate() - dt.timedelta(days=days))


def test_overdue_cases_are_listed_and_raised_to_the_bureau_once(case, small_city):
    assert case not in selectors.overdue()
    _age(case, 1)
    assert list(selectors.overdue()) == [case]
    before = Notification.objects.filter(organisation=small_city.bureau, kind="overdue").count()
    assert raise_overdue_cases(system_actor()) == [case]
    assert raise_overdue_cases(system_actor()) == []  # once per step
    assert Notification.objects.filter(organisation=small_city.bureau, kind="overdue").count() == before + 1
    assert Event.objects.filter(action="workflow.raise_overdue", object_id=str(case.pk)).count() == 1


def test_a_new_step_can_be_raised_again(case, small_city):
    _age(case, 1)
    raise_overdue_cases(system_actor())
    case = transition(small_city.actor("bureau"), case, "approve")
    assert case.overdue_raised_at is None
    _age(case, 1)
    assert raise_overdue_cases(system_actor()) == [case]


def test_cli_lists_overdue_cases(case):
    runner = CliRunner()
    assert "no overdue cases" in runner.invoke(main, ["cases", "overdue"]).output
    _age(case, 3)
    result = runner.invoke(main, ["cases", "overdue", "--raise"])
    assert result.exit_code == 0
    assert case.number in result.output and "catalog.review" in result.output
    assert "raised 1 to the bureau" in result.output


def test_a_case_type_with_an_unknown_state_is_rejected_at_declaration():
    with pytest.raises(ValueError):
        CaseType("broken", "坏", "X", [State("a", "A")], [Transition("go", "去", ("a",), "b", frozenset(), "x")])


def test_the_timeline_links_each_step_to_its_audit_event(case, small_city):
    case = transition(small_city.actor("bureau"), case, "approve", comment="同意")
    steps = list(case.steps.all())
    assert [s.comment for s in steps] == ["", "同意"]
    for step in steps:
        event = Event.objects.get(seq=step.audit_seq)
        assert event.object_id == str(case.pk) and event.action.endswith(step.transition)


def test_the_worker_runs_the_overdue_job(case, small_city):
    _age(case, 1)
    result = CliRunner().invoke(main, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "raise_overdue: 1 overdue case(s) raised" in result.output
