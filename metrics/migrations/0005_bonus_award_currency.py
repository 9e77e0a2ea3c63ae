"""A bonus award keeps the currency of its rule as it was when awarded (existing awards take their
rule's current currency), so the ledger entry booked for it never changes currency with the rule."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery

from core.tenancy import rls_bypass


def forwards(apps, schema_editor):
    BonusAward = apps.get_model("metrics", "BonusAward")
    BonusRule = apps.get_model("guilds", "BonusRule")
    with rls_bypass(reason="migration metrics.0005 bonus award currency"):
        BonusAward.objects.update(currency=Subquery(BonusRule.objects.filter(pk=OuterRef("rule_id")).values("currency")[:1]))


class Migration(migrations.Migration):
    dependencies = [("metrics", "0004_post_daily_rollups"), ("guilds", "0006_creatormessage")]

    operations = [
        migrations.AddField(
            model_name="bonusaward",
            name="currency",
            field=models.CharField(
                default="USD", help_text="The rule's currency when it was awarded (ISO 4217).", max_length=3
            ),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
