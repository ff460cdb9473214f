"""Working days: statutory holidays and make-up workdays (调休) from chinese-calendar, bureau-editable."""

import datetime as dt

import pytest
from click.testing import CliRunner

from foundation.errors import PermissionDenied
from core.models import CalendarDay
from core.services import set_calendar_day
from core.workdays import add_workdays, is_workday, workdays_between
from gongshu.cli import main

pytestmark = pytest.mark.django_db

D = dt.date


def test_national_day_holidays_are_skipped_and_make_up_saturday_counts():
    # 1–7 Oct 2026 are holidays; Sat 10 Oct is a make-up workday.
    assert add_workdays(D(2026, 9, 30), 5) == D(2026, 10, 13)
    assert is_workday(D(2026, 10, 10))
    assert not is_workday(D(2026, 10, 5))


def test_the_start_day_is_not_counted():
    assert add_workdays(D(2026, 11, 23), 1) == D(2026, 11, 24)  # Monday → Tuesday
    assert add_workdays(D(2026, 11, 27), 1) == D(2026, 11, 30)  # Friday → Monday


def test_one_working_day_over_spring_festival():
    # SYS Art. 27(2): a conditional share request received on the eve of the holiday.
    assert add_workdays(D(2026, 2, 13), 1) == D(2026, 2, 14)  # Sat 14 Feb 2026 is a make-up workday
    assert add_workdays(D(2026, 2, 14), 1) == D(2026, 2, 24)


def test_workdays_between_counts_like_add():
    start = D(2026, 9, 30)
    assert workdays_between(start, add_workdays(start, 5)) == 5
    assert workdays_between(add_workdays(start, 5), start) == -5


def test_bureau_adds_a_year_the_package_does_not_know(small_city):
    bureau = small_city.actor("bureau")
    assert add_workdays(D(2030, 9, 30), 1) == D(2030, 10, 1)  # unknown year: plain weekdays
    for day in range(1, 8):
        set_calendar_day(bureau, date=D(2030, 10, day), is_workday=False, name="国庆节")
    assert add_workdays(D(2030, 9, 30), 1) == D(2030, 10, 8)
    assert CalendarDay.objects.get(date=D(2030, 10, 1)).source == CalendarDay.Source.BUREAU


def test_an_agency_cannot_edit_the_calendar(small_city):
    with pytest.raises(PermissionDenied):
        set_calendar_day(small_city.actor("officer"), date=D(2030, 10, 1), is_workday=False)
    assert not CalendarDay.objects.filter(date=D(2030, 10, 1)).exists()


def test_cli_prints_only_the_iso_date():
    result = CliRunner().invoke(main, ["workdays", "add", "2026-09-30", "5"])
    assert result.exit_code == 0, result.output
    assert result.output == "2026-10-13\n"


@pytest.mark.parametrize("bad", ["2026-13-01", "30/09/2026", "tomorrow"])
def test_cli_refuses_a_malformed_date(bad):
    result = CliRunner().invoke(main, ["workdays", "add", bad, "5"])
    assert result.exit_code == 2
    assert "ISO format" in result.output


def test_cli_refuses_a_negative_count():
    assert CliRunner().invoke(main, ["workdays", "add", "2026-09-30", "-1"]).exit_code == 2
