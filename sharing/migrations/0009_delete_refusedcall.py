"""Refused calls now live in access (copied there by access 0003)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('sharing', '0008_one_nonce_table'),
        ('access', '0003_revocation_refusal'),
    ]

    operations = [
        migrations.DeleteModel(
            name='RefusedCall',
        ),
    ]
