# The one nonce table of signed requests (core.signed) replaces the per-sender ones.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('warehouse', '0011_source_databases'),
    ]

    operations = [
        migrations.DeleteModel(
            name='PushNonce',
        ),
    ]
