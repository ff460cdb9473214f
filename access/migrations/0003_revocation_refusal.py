"""Refused calls are counted by the access path for every kind (moved from sharing.RefusedCall, rows kept);
revocation before the end is a reviewed case."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def copy_refusals(apps, schema_editor):
    old, new = apps.get_model("sharing", "RefusedCall"), apps.get_model("access", "Refusal")
    new.objects.bulk_create([new(entitlement_id=r.grant_id, at=r.at, organisation_id=r.organisation_id, code=r.code,
                                 message=r.message, audit_seq=r.audit_seq) for r in old.objects.all()], batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ('access', '0002_entitlement'),
        ('sharing', '0008_one_nonce_table'),
        ('core', '0004_one_nonce_table'),
        ('workflow', '0002_case_due_at'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Revocation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='创建时间')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='更新时间')),
                ('reason', models.TextField(verbose_name='撤销理由')),
                ('case', models.OneToOneField(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='revocation', to='workflow.case')),
                ('entitlement', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='revocations', to='access.entitlement', verbose_name='数据使用权限')),
                ('requested_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': '撤销授权申请',
                'verbose_name_plural': '撤销授权申请',
                'ordering': ['-created_at'],
            },
        ),
        migrations.CreateModel(
            name='Refusal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('at', models.DateTimeField(auto_now_add=True)),
                ('code', models.CharField(max_length=40)),
                ('message', models.CharField(max_length=300)),
                ('audit_seq', models.BigIntegerField(null=True)),
                ('entitlement', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='refusals', to='access.entitlement')),
                ('organisation', models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='core.organisation')),
            ],
            options={
                'ordering': ['-at'],
                'indexes': [models.Index(fields=['entitlement', 'at'], name='access_refusal_at')],
            },
        ),
        migrations.RunPython(copy_refusals, migrations.RunPython.noop),
    ]
