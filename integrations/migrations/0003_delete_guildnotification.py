from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('guilds', '0004_dashboardauditlog_guildnotification'),
        ('integrations', '0002_guild_notification'),
    ]

    operations = [
        # Guild notifications moved to guilds (same table); only the model state leaves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(
                    name='GuildNotification',
                ),
            ],
        ),
    ]
