import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('guilds', '0005_botcallback'),
        ('integrations', '0004_platform_choices_from_registry'),
        ('tracking', '0011_post_caption_hash'),
    ]

    operations = [
        migrations.AlterField(
            model_name='webhookdelivery',
            name='delivery_id',
            field=models.CharField(max_length=255),
        ),
        migrations.AddField(
            model_name='apifyrunregistry',
            name='checked_at',
            field=models.DateTimeField(blank=True, help_text='Last time we asked Apify about this run.', null=True),
        ),
        migrations.AddField(
            model_name='apifyrunregistry',
            name='duplicate_of',
            field=models.ForeignKey(blank=True, help_text='A second run Apify started for the same request (a retried start): paid for, so ingested too.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='duplicates', to='integrations.apifyrunregistry'),
        ),
        migrations.AddField(
            model_name='apifyrunregistry',
            name='input_hash',
            field=models.CharField(blank=True, help_text='SHA-256 of the run input we sent: how a lost start is found again.', max_length=64),
        ),
        migrations.AddField(
            model_name='webhookdelivery',
            name='attempts',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='webhookdelivery',
            name='last_error',
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name='webhookdelivery',
            name='lease_until',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='webhookdelivery',
            name='next_attempt_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='webhookdelivery',
            name='processed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='webhookdelivery',
            name='state',
            field=models.CharField(choices=[('to_process', 'To process'), ('processing', 'Processing'), ('done', 'Done'), ('failed', 'Failed')], default='done', max_length=12),
        ),
        migrations.AlterField(
            model_name='apifyrunregistry',
            name='status',
            field=models.CharField(choices=[('starting', 'Starting (outcome of the start not known yet)'), ('initiated', 'Running at Apify'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('expired', 'Expired')], default='starting', max_length=10),
        ),
        migrations.AlterField(
            model_name='webhookdelivery',
            name='source',
            field=models.CharField(choices=[('apify', 'Apify'), ('verify', 'Verify'), ('bot', 'Bot'), ('poll', 'Poll (Apify asked, no webhook)')], max_length=10),
        ),
        migrations.AddIndex(
            model_name='apifyrunregistry',
            index=models.Index(fields=['status', 'created_at'], name='run_status_created'),
        ),
        migrations.AddIndex(
            model_name='webhookdelivery',
            index=models.Index(fields=['state', 'next_attempt_at'], name='webhook_delivery_due'),
        ),
        # Bot callbacks moved to guilds (same table); only the model state leaves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name='botcallback', name='guild'),
                migrations.DeleteModel(name='BotCallback'),
            ],
        ),
    ]
