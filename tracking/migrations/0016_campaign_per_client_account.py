"""One campaign per existing client account, carrying its rate, window and caption rules, and every
one of its posts attached to it — so today's numbers stay what they were."""

from django.db import migrations

from core.tenancy import rls_bypass


def forwards(apps, schema_editor):
    ClientAccount = apps.get_model("tracking", "ClientAccount")
    Campaign = apps.get_model("tracking", "Campaign")
    Post = apps.get_model("tracking", "Post")
    with rls_bypass(reason="migration tracking.0013 campaign per client account"):
        for account in ClientAccount.objects.all().iterator():
            campaign = Campaign.objects.create(
                guild_id=account.guild_id,
                client_account=account,
                name=account.name,
                status="active" if account.active else "ended",
                starts_at=account.created_at,
                currency="USD",
                rate_per_1000=account.cpm_rate,
                counting_window_days=account.counting_window_days,
                validation_window_days=0,
                required_tags=account.required_tags,
                banned_words=account.banned_words,
                baseline="gained",
                on_disappear="keep",
            )
            Post.objects.filter(client_account=account).update(campaign=campaign)


def backwards(apps, schema_editor):
    with rls_bypass(reason="migration tracking.0013 reversed"):
        apps.get_model("tracking", "Post").objects.update(campaign=None)
        apps.get_model("tracking", "Campaign").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("tracking", "0015_campaign")]

    operations = [migrations.RunPython(forwards, backwards)]
