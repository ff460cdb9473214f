import audit.models
from django.db import migrations, models


def install(apps, schema_editor):
    from audit import guards

    guards.install(schema_editor.connection)


def remove(apps, schema_editor):
    from audit import guards

    guards.remove(schema_editor.connection)


class Migration(migrations.Migration):
    """The sequence number is the key (on SQLite the rowid itself): an append no longer writes a second key,
    a unique index and an AUTOINCREMENT counter; and the action is not indexed (nothing searches events by
    action alone: the usage log reads them by sequence range). SQLite rebuilds the table, so the append-only
    guards come off around it and go back on at once."""

    dependencies = [
        ('audit', '0003_event_hash_unindexed'),
    ]

    operations = [
        migrations.RunPython(remove, install),
        migrations.RemoveField(
            model_name='event',
            name='id',
        ),
        migrations.AlterField(
            model_name='event',
            name='seq',
            field=audit.models.SequenceField(primary_key=True, serialize=False, verbose_name='序号'),
        ),
        migrations.AlterField(model_name="event", name="action", field=models.CharField(max_length=100, verbose_name="操作")),
        migrations.RunPython(install, remove),
    ]
