import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('metrics', '0001_initial'),
        ('guilds', '0004_dashboardauditlog_guildnotification'),
        ('tracking', '0007_post_creator_index_covered'),
    ]

    operations = [
        # The table exists (created by metrics); only the model state moves to the review queue's app.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='FraudSignal',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('spike', 'Views spiked without engagement'), ('decrease', 'A count went down'), ('unavailable', 'Post deleted or private'), ('ownership', 'Author does not match the profile'), ('caption', 'Caption check failed')], max_length=12)),
                        ('reason', models.CharField(max_length=500)),
                        ('detected_at', models.DateTimeField(auto_now_add=True)),
                        ('resolved_at', models.DateTimeField(blank=True, null=True)),
                        ('resolved_by', models.CharField(blank=True, max_length=120)),
                        ('guild', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='guilds.guild')),
                        ('post', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='signals', to='tracking.post')),
                    ],
                    options={
                        'db_table': 'metrics_fraudsignal',
                        'ordering': ['-detected_at'],
                        'indexes': [models.Index(fields=['guild', 'resolved_at', 'detected_at'], name='signal_open_by_guild')],
                    },
                ),
            ],
        ),
    ]
