"""Working days (工作日): Monday–Friday, minus statutory holidays, plus make-up workdays (调休).

The exceptions live in ``CalendarDay``, seeded from ``chinese-calendar`` and editable by the bureau.
A deadline "within N wd of receipt" ends on ``add_workdays(receipt, N)``: the day of receipt is not
counted, the N-th working day after it is the last day.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from .models import CalendarDay

# Enough look-ahead for the longest run of holidays plus weekends (Spring Festival is ~9 days).
_WINDOW_PAD = 40


def today() -> dt.date:
    """Today in the city (settings.TIME_ZONE): deadlines and the periods of grants are dates of the city,
    whatever time zone a request may have activated (and this is cheaper than ``timezone.localdate()``)."""
    return timezone.localtime(timezone.now(), timezone.get_default_timezone()).date()


def _overrides(start: dt.date, end: dt.date) -> dict[dt.date, bool]:
    return dict(CalendarDay.objects.filter(date__gte=start, date__lte=end).values_list("date", "is_workday"))


def is_workday(day: dt.date) -> bool:
    overrides = _overrides(day, day)
    return overrides.get(day, day.weekday() < 5)


def add_workdays(start: dt.date, n: int) -> dt.date:
    """The date of the n-th working day after ``start`` (``start`` itself not counted)."""
    if n < 0:
        raise ValueError("n must be zero or more")
    if n == 0:
        return start
    end = start + dt.timedelta(days=n * 2 + _WINDOW_PAD)
    overrides = _overrides(start, end)
    day, counted = start, 0
    while counted < n:
        day += dt.timedelta(days=1)
        if day > end:
            end = day + dt.timedelta(days=n * 2 + _WINDOW_PAD)
            overrides.update(_overrides(day, end))
        if overrides.get(day, day.weekday() < 5):
            counted += 1
    return day


def workdays_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (negative when end is before start)."""
    if end < start:
        return -workdays_between(end, start)
    overrides = _overrides(start, end)
    total, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        if overrides.get(day, day.weekday() < 5):
            total += 1
    return total


def package_years() -> list[int]:
    from chinese_calendar import constants

    return sorted({d.year for d in constants.holidays} | {d.year for d in constants.workdays})


@transaction.atomic
def seed_from_package() -> int:
    """Load every holiday and make-up workday the package knows; bureau entries are kept as they are."""
    from chinese_calendar import constants

    kept = set(CalendarDay.objects.filter(source=CalendarDay.Source.BUREAU).values_list("date", flat=True))
    rows = {}
    for day, name in constants.holidays.items():
        rows[day] = CalendarDay(date=day, is_workday=False, name=_zh_name(name), source=CalendarDay.Source.PACKAGE)
    for day, name in constants.workdays.items():
        if day.weekday() >= 5:  # a make-up workday on a weekend
            rows[day] = CalendarDay(date=day, is_workday=True, name=_zh_name(name) + "调休", source=CalendarDay.Source.PACKAGE)
    fresh = [row for day, row in rows.items() if day not in kept]
    CalendarDay.objects.filter(source=CalendarDay.Source.PACKAGE).delete()
    CalendarDay.objects.bulk_create(fresh, batch_size=500)
    return len(fresh)


_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


def _zh_name(name: str) -> str:
    return _NAMES.get(name, name)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (or earlier), on the month's last day where it has no such day."""
    import calendar

    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return day.replace(year=year, month=month + 1, day=min(day.day, calendar.monthrange(year, month + 1)[1]))
