from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('guilds', '0004_dashboardauditlog_guildnotification'),
        ('dashboard_auth', '0002_revokedservicekey'),
    ]

    operations = [
        # The audit log moved to guilds (same table); only the model state leaves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(
                    name='DashboardAuditLog',
                ),
            ],
        ),
    ]
