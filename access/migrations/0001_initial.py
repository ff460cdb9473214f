"""The share grant becomes the first kind of entitlement: this app takes over sharing's table as it stands
(state only; the table is renamed and completed in 0002, after sharing points its links here)."""

import access.models
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("catalog", "0002_resource_draft"),
        ("core", "0003_rate_count"),
        ("sharing", "0006_reevaluation_onward"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Entitlement",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="创建时间")),
                        ("updated_at", models.DateTimeField(auto_now=True, verbose_name="更新时间")),
                        ("ref", models.CharField(default=access.models._ref, max_length=20, unique=True, verbose_name="授权编号")),
                        ("kind", models.CharField(default="request", max_length=10, verbose_name="来源")),
                        ("items", models.JSONField(default=list, verbose_name="授权数据项")),
                        ("row_filter", models.JSONField(blank=True, default=dict, verbose_name="数据范围")),
                        ("method", models.CharField(max_length=10, verbose_name="共享方式")),
                        ("purpose", models.CharField(max_length=200, verbose_name="应用场景")),
                        ("valid_from", models.DateField(verbose_name="生效日期")),
                        ("valid_until", models.DateField(verbose_name="到期日期")),
                        ("status", models.CharField(default="active", max_length=12, verbose_name="状态")),
                        ("status_reason", models.TextField(blank=True, verbose_name="状态说明")),
                        ("holder", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="core.organisation")),
                        ("resource", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="catalog.resource")),
                        ("request", models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                                         related_name="+", to="sharing.sharerequest")),
                    ],
                    options={"db_table": "sharing_grant", "ordering": ["-created_at"],
                             "indexes": [models.Index(fields=["holder", "status"], name="sharing_gra_holder__b5e6d8_idx"),
                                         models.Index(fields=["resource", "status"], name="sharing_gra_resourc_235ecf_idx")]},
                ),
            ],
            database_operations=[],
        ),
    ]
