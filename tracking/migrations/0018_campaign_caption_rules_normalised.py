"""Campaigns' required tags and banned words normalised as a client account's (tracking.caption_rules):
a bare word becomes a hashtag, tags lower-cased and kept once, banned words once per spelling. A list
the rules refuse (a tag with a space, say) is left as it was, for a person to fix on the brief."""

from django.db import migrations

from core.tenancy import rls_bypass
from tracking.caption_rules import banned_words, required_tags


def forwards(apps, schema_editor):
    Campaign = apps.get_model("tracking", "Campaign")
    with rls_bypass(reason="migration tracking.0018 campaign caption rules normalised"):
        for campaign in Campaign.objects.all().only("pk", "required_tags", "banned_words").iterator():
            changed = []
            for name, normalise in (("required_tags", required_tags), ("banned_words", banned_words)):
                try:
                    value = normalise(getattr(campaign, name))
                except ValueError:
                    continue
                if value != getattr(campaign, name):
                    setattr(campaign, name, value)
                    changed.append(name)
            if changed:
                campaign.save(update_fields=changed)


class Migration(migrations.Migration):
    dependencies = [("tracking", "0017_post_thumbnail_url")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
