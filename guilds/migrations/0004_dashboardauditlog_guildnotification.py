import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('integrations', '0002_guild_notification'),
        ('dashboard_auth', '0002_revokedservicekey'),
        ('guilds', '0003_snowflake_ids_up_to_2_63'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables exist (created by dashboard_auth and integrations); only the model state moves here.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='DashboardAuditLog',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('actor', models.CharField(help_text='"discord:1234 alice", "staff:bob", "service:bot".', max_length=120)),
                        ('action', models.CharField(max_length=60)),
                        ('target_type', models.CharField(max_length=60)),
                        ('target_id', models.CharField(blank=True, max_length=64)),
                        ('before', models.JSONField(blank=True, null=True)),
                        ('after', models.JSONField(blank=True, null=True)),
                        ('ip', models.GenericIPAddressField(blank=True, null=True)),
                        ('user_agent', models.CharField(blank=True, max_length=300)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('actor_user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('guild', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='audit_log', to='guilds.guild')),
                    ],
                    options={
                        'verbose_name': 'audit log entry',
                        'verbose_name_plural': 'audit log',
                        'db_table': 'dashboard_auth_dashboardauditlog',
                        'ordering': ['-created_at'],
                        'indexes': [models.Index(fields=['guild', 'created_at'], name='audit_by_guild')],
                    },
                ),
                migrations.CreateModel(
                    name='GuildNotification',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('channel', models.CharField(choices=[('logs', 'Logs'), ('updates', 'Updates')], default='logs', max_length=8)),
                        ('kind', models.CharField(help_text='submission, verification, flagged, run_failed, budget, ...', max_length=40)),
                        ('event_key', models.CharField(help_text='Unique per guild: the same event is told once.', max_length=120)),
                        ('title', models.CharField(max_length=256)),
                        ('body', models.TextField(blank=True)),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('sent', 'Sent'), ('failed', 'Failed'), ('dropped', 'Dropped (no destination)')], default='pending', max_length=8)),
                        ('attempts', models.PositiveIntegerField(default=0)),
                        ('last_error', models.CharField(blank=True, max_length=300)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                        ('guild', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to='guilds.guild')),
                    ],
                    options={
                        'db_table': 'integrations_guildnotification',
                        'ordering': ['-created_at'],
                        'indexes': [models.Index(fields=['status', 'created_at'], name='notification_pending')],
                        'constraints': [models.UniqueConstraint(fields=('guild', 'event_key'), name='notification_once_per_event')],
                    },
                ),
            ],
        ),
    ]
