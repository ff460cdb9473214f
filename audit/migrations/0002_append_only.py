from django.db import migrations


def head(apps, schema_editor):
    apps.get_model("audit", "ChainHead").objects.get_or_create(pk=1)


def install(apps, schema_editor):
    from audit import guards

    guards.install(schema_editor.connection)


def remove(apps, schema_editor):
    from audit import guards

    guards.remove(schema_editor.connection)


class Migration(migrations.Migration):
    """The database itself refuses to change or remove an audit event (SEC2)."""

    dependencies = [("audit", "0001_initial")]
    operations = [
        migrations.RunPython(head, migrations.RunPython.noop),
        migrations.RunPython(install, remove),
    ]
