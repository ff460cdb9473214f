# An hour deadline's moment beside the day of a working-day deadline (issue 13 item 4).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("workflow", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="due_at",
            field=models.DateTimeField(blank=True, db_index=True, null=True, verbose_name="办理时限"),
        ),
        migrations.AddField(
            model_name="casestep",
            name="due_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
