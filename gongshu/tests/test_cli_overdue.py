"""`gongshu cases overdue`: a working-day deadline is shown as its day, an hour deadline (a rule in unit
"hours") as its day and minute in the configured time zone, so an operator can tell when it fell due."""

import datetime as dt
import re
import zoneinfo

import pytest
from click.testing import CliRunner
from django.conf import settings as django_settings
from django.utils import timezone

from catalog.services import draft_resource, submit_resource
from catalog.tests.factories import entry_fields, entry_items
from core.models import Role
from gongshu.cli import main
from gongshu.testing import rulebook_with
from workflow import engine
from workflow.engine import CaseType, State, Transition
from workflow.models import Case
from workflow.services import open_case

pytestmark = pytest.mark.django_db
DRILL_RULE = {"value": 2, "unit": "hours", "article": "演练规则第1条", "text": "2小时内报告", "origin": "platform_default"}


@pytest.fixture
def hour_case_type(settings, tmp_path, monkeypatch):
    """The city's rulebook plus a 2-hour rule, and a case type whose step is due within it (this test only)."""
    path = rulebook_with(settings, tmp_path, **{"drill.report": DRILL_RULE})
    ctype = CaseType("incident_drill", "事件报告演练", "YL", [
        State("reporting", "主管部门接报", party="bureau", deadline="drill.report"),
        State("closed", "已办结", final=True),
    ], [Transition("close", "办结", ("reporting",), "closed", frozenset({Role.BUREAU_ADMIN}), "bureau")])
    monkeypatch.setitem(engine._REGISTRY, ctype.name, ctype)
    return ctype


def _line(output: str, number: str) -> list[str]:
    (line,) = [line for line in output.splitlines() if line.startswith(f"{number}\t")]
    return line.split("\t")


def test_overdue_lists_the_day_of_a_working_day_deadline_and_the_minute_of_an_hour_one(city, hour_case_type):
    officer = city.actor("officer")
    days = submit_resource(officer, draft_resource(officer, fields=entry_fields(), items=entry_items()))
    hours = open_case(officer, case_type="incident_drill", subject=city.police, title="数据安全事件演练",
                      parties={"bureau": city.bureau}, initial="reporting")
    assert days.due_at is None and hours.due_at is not None and hours.deadline_rule == "drill.report"
    # both fell due in the past: the day case two weeks ago, the hour case at 01:30 UTC, 09:30 in Shuangyashan
    past_day = timezone.localdate() - dt.timedelta(days=14)
    Case.objects.filter(pk=days.pk).update(due_on=past_day)
    moment = dt.datetime(2026, 1, 5, 1, 30, tzinfo=dt.timezone.utc)
    local = moment.astimezone(zoneinfo.ZoneInfo(django_settings.TIME_ZONE))
    Case.objects.filter(pk=hours.pk).update(due_at=moment, due_on=local.date())

    result = CliRunner().invoke(main, ["cases", "overdue"])
    assert result.exit_code == 0, result.output

    day_line = _line(result.output, days.number)
    assert day_line[1] == past_day.isoformat()  # a working-day deadline: its day, no clock time
    assert not re.search(r"\d{2}:\d{2}", day_line[1])

    hour_line = _line(result.output, hours.number)
    assert hour_line[1] == f"{local:%Y-%m-%d %H:%M}" and hour_line[4] == "drill.report"
    if django_settings.TIME_ZONE == "Asia/Shanghai":
        assert hour_line[1] == "2026-01-05 09:30"  # the configured zone's wall clock, not UTC's 01:30
