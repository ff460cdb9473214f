"""Share grants live on as a proxy of access.Entitlement; the links to them point there; the share request
now names its grant (the entitlement knows nothing of sharing)."""

import django.db.models.deletion
from django.db import migrations, models


def link_requests(apps, schema_editor):
    Entitlement = apps.get_model("access", "Entitlement")
    ShareRequest = apps.get_model("sharing", "ShareRequest")
    for pk, request_id in Entitlement.objects.exclude(request=None).values_list("pk", "request_id"):
        ShareRequest.objects.filter(pk=request_id).update(grant_id=pk)


def unlink_requests(apps, schema_editor):
    Entitlement = apps.get_model("access", "Entitlement")
    ShareRequest = apps.get_model("sharing", "ShareRequest")
    for pk, grant_id in ShareRequest.objects.exclude(grant=None).values_list("pk", "grant_id"):
        Entitlement.objects.filter(pk=grant_id).update(request_id=pk)


def _links(to: str) -> list:
    """The links to a grant (state only: in the database they reference the same table throughout)."""
    def fk(**kwargs):
        return models.ForeignKey(on_delete=kwargs.pop("on_delete", django.db.models.deletion.PROTECT), to=to, **kwargs)

    return [
        migrations.AlterField("refusedcall", "grant", fk(on_delete=django.db.models.deletion.CASCADE, related_name="refusals")),
        migrations.AlterField("rectification", "grant", fk(related_name="rectifications")),
        migrations.AlterField("onwardprovision", "grant", fk(related_name="onward_provisions")),
        migrations.AlterField("onwardprovision", "derived", models.OneToOneField(
            blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="onward_source", to=to)),
    ]


class Migration(migrations.Migration):

    dependencies = [
        ("access", "0001_initial"),
        ("sharing", "0006_reevaluation_onward"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                *_links("access.entitlement"),
                migrations.DeleteModel("Grant"),
                migrations.CreateModel(
                    name="Grant",
                    fields=[],
                    options={"verbose_name": "共享授权", "verbose_name_plural": "共享授权", "proxy": True, "indexes": [],
                             "constraints": []},
                    bases=("access.entitlement",),
                ),
                *_links("sharing.grant"),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name="sharerequest",
            name="grant",
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="request",
                                       to="access.entitlement"),
        ),
        migrations.RunPython(link_requests, unlink_requests),
    ]
