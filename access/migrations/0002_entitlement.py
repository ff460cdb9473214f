"""The entitlement completed: its own table, the origin, a natural person as holder, the daily quota and
the price-plan reference; the daily meter."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("access", "0001_initial"),
        ("sharing", "0007_grants_are_entitlements"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveField("entitlement", "request"),
        migrations.RenameField("entitlement", "kind", "origin"),
        migrations.AlterModelTable("entitlement", None),
        migrations.RenameIndex("entitlement", new_name="access_holder_status", old_name="sharing_gra_holder__b5e6d8_idx"),
        migrations.RenameIndex("entitlement", new_name="access_resource_status", old_name="sharing_gra_resourc_235ecf_idx"),
        migrations.AlterModelOptions("entitlement", {"ordering": ["-created_at"], "verbose_name": "数据使用权限",
                                                     "verbose_name_plural": "数据使用权限"}),
        migrations.AlterField("entitlement", "origin", models.CharField(
            choices=[("request", "共享申请"), ("backflow", "数据回流"), ("onward", "经同意向第三方提供")], default="request",
            max_length=10, verbose_name="来源")),
        migrations.AlterField("entitlement", "method", models.CharField(
            choices=[("api", "接口"), ("file", "文件"), ("db_sync", "库表同步")], max_length=10, verbose_name="共享方式")),
        migrations.AlterField("entitlement", "status", models.CharField(
            choices=[("active", "有效"), ("suspended", "已暂停"), ("revoked", "已撤销"), ("expired", "已到期"), ("terminated", "已终止")],
            default="active", max_length=12, verbose_name="状态")),
        migrations.AlterField("entitlement", "holder", models.ForeignKey(
            null=True, on_delete=django.db.models.deletion.PROTECT, related_name="grants", to="core.organisation", verbose_name="使用部门")),
        migrations.AlterField("entitlement", "resource", models.ForeignKey(
            on_delete=django.db.models.deletion.PROTECT, related_name="grants", to="catalog.resource", verbose_name="数据资源")),
        migrations.AddField("entitlement", "holder_person", models.ForeignKey(
            blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="entitlements",
            to=settings.AUTH_USER_MODEL, verbose_name="持有人")),
        migrations.AddField("entitlement", "quota_calls", models.PositiveIntegerField(default=0, verbose_name="每日调用次数上限")),
        migrations.AddField("entitlement", "quota_rows", models.PositiveBigIntegerField(default=0, verbose_name="每日记录数上限")),
        migrations.AddField("entitlement", "quota_bytes", models.PositiveBigIntegerField(default=0, verbose_name="每日数据量上限（字节）")),
        migrations.AddField("entitlement", "price_plan", models.CharField(blank=True, max_length=40, verbose_name="价格方案")),
        migrations.CreateModel(
            name="Meter",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("calls", models.PositiveIntegerField(default=0)),
                ("rows", models.PositiveBigIntegerField(default=0)),
                ("bytes", models.PositiveBigIntegerField(default=0)),
                ("entitlement", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="meters",
                                                  to="access.entitlement")),
            ],
            options={"ordering": ["-day"],
                     "constraints": [models.UniqueConstraint(fields=("entitlement", "day"), name="access_meter_one_per_day")]},
        ),
    ]
