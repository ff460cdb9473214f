# The one nonce table of signed requests (core.signed) replaces the per-sender ones.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0003_rate_count'),
    ]

    operations = [
        migrations.CreateModel(
            name='Nonce',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('scope', models.CharField(max_length=20)),
                ('sender', models.CharField(max_length=100)),
                ('nonce', models.CharField(max_length=64)),
                ('at', models.DateTimeField(auto_now_add=True, db_index=True)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('scope', 'sender', 'nonce'), name='nonce_once_per_sender')],
            },
        ),
    ]
