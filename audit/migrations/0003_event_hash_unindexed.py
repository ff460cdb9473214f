from django.db import migrations, models


def install(apps, schema_editor):
    from audit import guards

    guards.install(schema_editor.connection)


def remove(apps, schema_editor):
    from audit import guards

    guards.remove(schema_editor.connection)


class Migration(migrations.Migration):
    """Events are found by their sequence number; the unique index on the hash (a random key) cost every
    append the write of a random page of the index. SQLite rebuilds the table for this, so the append-only
    guards are taken off around it and put back at once."""

    dependencies = [("audit", "0002_append_only")]
    operations = [
        migrations.RunPython(remove, install),
        migrations.AlterField(model_name="event", name="hash", field=models.CharField(max_length=64)),
        migrations.RunPython(install, remove),
    ]
