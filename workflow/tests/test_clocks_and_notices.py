"""The case engine's clocks and notices: a deadline in working days or in wall-clock hours, as its rule's
unit says (the security chapter's incident reports are due within hours), with the due moment and overdue
detection right for both; hooks named by dotted path; every final state tells the applicant, once."""

import datetime as dt

import pytest
from click.testing import CliRunner
from django.template.loader import render_to_string
from django.utils import timezone

from catalog.services import draft_resource, submit_resource
from catalog.tests.factories import entry_fields, entry_items
from core.models import Notification, Role
from core.workdays import add_workdays
from foundation import rulebook
from gongshu.testing import rulebook_with
from foundation.actor import system_actor
from gongshu.cli import main
from workflow import engine, selectors
from workflow.engine import CaseType, State, Transition
from workflow.models import Case
from workflow.services import open_case, raise_overdue_cases, transition

pytestmark = pytest.mark.django_db
BUREAU = frozenset({Role.BUREAU_ADMIN})
DRILL_RULE = {"value": 2, "unit": "hours", "article": "演练规则第1条", "text": "2小时内报告", "origin": "platform_default"}


@pytest.fixture
def hour_rules(settings, tmp_path):
    """The small_city's rulebook plus a 2-hour rule (a stand-in for the security chapter's report deadlines)."""
    path = rulebook_with(settings, tmp_path, **{"drill.report": DRILL_RULE})
    return path


@pytest.fixture
def drill(monkeypatch, hour_rules):
    """A case type with an hour deadline, registered for this test only."""
    ctype = CaseType("incident_drill", "事件报告演练", "YL", [
        State("reporting", "主管部门接报", party="bureau", deadline="drill.report"),
        State("closed", "已办结", final=True),
    ], [Transition("close", "办结", ("reporting",), "closed", BUREAU, "bureau")])
    monkeypatch.setitem(engine._REGISTRY, ctype.name, ctype)
    return ctype


def _open_drill(small_city):
    return open_case(small_city.actor("officer"), case_type="incident_drill", subject=small_city.police, title="数据安全事件演练",
                     parties={"bureau": small_city.bureau}, initial="reporting")


def test_an_hour_deadline_counts_wall_clock_hours_from_entering_the_state(small_city, drill):
    before = timezone.now()
    case = _open_drill(small_city)
    assert before + dt.timedelta(hours=2) <= case.due_at <= timezone.now() + dt.timedelta(hours=2)
    assert case.due_on == timezone.localtime(case.due_at).date() and case.due_moment == case.due_at
    assert case.deadline_rule == "drill.report" and case.deadline_citation == "演练规则第1条"
    assert case.steps.get().due_at == case.due_at
    assert 110 <= case.minutes_left <= 120 and "小时" in case.time_left
    assert Notification.objects.filter(organisation=small_city.bureau, link=f"/cases/{case.number}/",
                                       message__contains=f"{timezone.localtime(case.due_at):%Y-%m-%d %H:%M}").exists()


def test_an_hour_deadline_is_overdue_once_its_moment_passes_even_on_its_own_day(small_city, drill):
    case = _open_drill(small_city)
    assert case not in selectors.overdue()
    assert case in selectors.overdue(now=case.due_at + dt.timedelta(minutes=1))
    # past its moment, on the same day: overdue now, where a day deadline would wait for the day's end
    Case.objects.filter(pk=case.pk).update(due_at=timezone.now() - dt.timedelta(minutes=5), due_on=timezone.localdate())
    case.refresh_from_db()
    assert list(selectors.overdue()) == [case]
    assert selectors.remaining_workdays(case) == -1 and case.time_left == "已逾期"
    assert raise_overdue_cases(system_actor()) == [case]
    assert raise_overdue_cases(system_actor()) == []
    result = CliRunner().invoke(main, ["cases", "overdue"])
    assert case.number in result.output and "drill.report" in result.output


def test_a_working_day_deadline_is_due_at_the_end_of_its_day(small_city):
    officer = small_city.actor("officer")
    case = submit_resource(officer, draft_resource(officer, fields=entry_fields(), items=entry_items()))
    assert case.due_at is None and case.due_on == add_workdays(timezone.localdate(), rulebook.deadline("catalog.review"))
    assert timezone.localtime(case.due_moment) == timezone.make_aware(dt.datetime.combine(case.due_on + dt.timedelta(days=1), dt.time()))
    assert case not in selectors.overdue(now=timezone.make_aware(dt.datetime.combine(case.due_on, dt.time(23, 59))))
    assert case in selectors.overdue(now=timezone.make_aware(dt.datetime.combine(case.due_on + dt.timedelta(days=1), dt.time(0, 1))))
    assert selectors.remaining_workdays(case) == rulebook.deadline("catalog.review")


def test_the_due_column_shows_the_minute_of_an_hour_deadline_and_the_day_of_a_working_day_one(small_city, drill):
    hours = _open_drill(small_city)
    officer = small_city.actor("officer")
    days = submit_resource(officer, draft_resource(officer, fields=entry_fields(), items=entry_items()))
    days.remaining = selectors.remaining_workdays(days)
    html = render_to_string("workflow/_due.html", {"case": hours})
    assert f"{timezone.localtime(hours.due_at):%Y-%m-%d %H:%M}" in html and "小时" in html and "工作日" not in html
    html = render_to_string("workflow/_due.html", {"case": days})
    assert f"{days.due_on:%Y-%m-%d}" in html and "剩 5 个工作日" in html


def test_a_rule_in_other_units_cannot_be_a_case_deadline(small_city, drill, monkeypatch):
    monkeypatch.setitem(engine._REGISTRY, "bad_clock", CaseType("bad_clock", "坏期限", "X", [
        State("waiting", "等待", party="bureau", deadline="share.grant_months"), State("done", "完成", final=True)],
        [Transition("done", "完成", ("waiting",), "done", BUREAU, "bureau")]))
    with pytest.raises(rulebook.RulebookError) as exc:
        open_case(small_city.actor("officer"), case_type="bad_clock", subject=small_city.police, title="x", parties={"bureau": small_city.bureau},
                  initial="waiting")
    assert exc.value.code == "rule_unit"


def test_hooks_are_named_by_dotted_path_and_cases_open_only_in_a_declared_start_state(small_city, drill):
    with pytest.raises(ValueError):
        State("granted", "已授权", final=True, on_enter=print)  # a function, not its name
    with pytest.raises(ValueError):
        CaseType("x", "坏", "X", [State("a", "A")], [], initial=("b",))
    assert engine.case_type("share_request").state("granted").hook.__name__ == "grant_from_case"
    with pytest.raises(ValueError):
        open_case(small_city.actor("officer"), case_type="incident_drill", subject=small_city.police, title="x",
                  parties={"bureau": small_city.bureau}, initial="closed")


def test_every_final_state_tells_the_applicant_once(small_city, drill):
    case = _open_drill(small_city)
    case = transition(small_city.actor("bureau"), case, "close")
    notes = Notification.objects.filter(organisation=small_city.police, link=f"/cases/{case.number}/")
    assert [n.message for n in notes] == [f"事件报告演练 {case.number}：已办结"]
    assert case.closed_at is not None and case.due_at is None


def test_a_hook_that_told_the_applicant_itself_is_not_doubled_S3(small_city):
    """The grant's notice (its number and period) is the applicant's one notice of a granted request."""
    from sharing import services

    request = services.request_share(small_city.actor("cdo_civil"), small_city.household,
                                     scenario="婚姻登记核验", basis="条例", method="api", items=["citizen_id", "name"],
                                     valid_until=timezone.localdate() + dt.timedelta(days=90))
    before = Notification.objects.filter(organisation=small_city.civil).count()
    transition(small_city.actor("officer"), request.case, "agree")
    told = Notification.objects.filter(organisation=small_city.civil).exclude(kind="overdue")
    assert told.count() == before + 1 and request.case.number in told.order_by("-pk").first().message


def test_a_refusal_tells_the_applicant_once_and_a_person_in_person_S3_S5(small_city):
    from sharing import services

    request = services.request_share(small_city.actor("cdo_civil"), small_city.household,
                                     scenario="婚姻登记核验", basis="条例", method="api", items=["citizen_id", "name"],
                                     valid_until=timezone.localdate() + dt.timedelta(days=90))
    transition(small_city.actor("officer"), request.case, "decline", comment="超出所需")
    assert Notification.objects.filter(organisation=small_city.civil, link=f"/cases/{request.case.number}/",
                                       message__contains="不予共享").count() == 1
