from django.db import migrations


def seed(apps, schema_editor):
    # The default scheme of the configured rulebook (GB/T 43697-2024 for Shuangyashan).
    from grading.scheme import seed as seed_scheme

    seed_scheme(apps.get_model("grading", "Grade"), apps.get_model("grading", "Category"))


class Migration(migrations.Migration):
    dependencies = [("grading", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
