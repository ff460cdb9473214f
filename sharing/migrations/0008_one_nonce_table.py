# The one nonce table of signed requests (core.signed) replaces the per-sender ones.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('sharing', '0007_grants_are_entitlements'),
    ]

    operations = [
        migrations.DeleteModel(
            name='PeerNonce',
        ),
    ]
