from django.db import migrations


def seed(apps, schema_editor):
    # The holidays and make-up workdays chinese-calendar knows; later years are the bureau's to add.
    from chinese_calendar import constants

    from core.workdays import _zh_name

    CalendarDay = apps.get_model("core", "CalendarDay")
    rows = {}
    for day, name in constants.holidays.items():
        rows[day] = CalendarDay(date=day, is_workday=False, name=_zh_name(name), source="chinese-calendar")
    for day, name in constants.workdays.items():
        if day.weekday() >= 5:
            rows[day] = CalendarDay(date=day, is_workday=True, name=_zh_name(name) + "调休", source="chinese-calendar")
    CalendarDay.objects.bulk_create(rows.values(), batch_size=500, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
