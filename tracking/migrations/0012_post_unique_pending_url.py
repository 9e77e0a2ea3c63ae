# One post per canonical URL per guild while its platform id is unknown (short links before their first
# scrape): the database, not a check-then-insert, keeps concurrent submissions from making two posts.

from django.db import migrations, models

from core.tenancy import BYPASS_SETTING

DUPLICATES = """
    SELECT guild_id, platform, canonical_url, COUNT(*), MIN(id), MAX(id)
    FROM tracking_post
    WHERE external_id IS NULL
    GROUP BY guild_id, platform, canonical_url
    HAVING COUNT(*) > 1
    ORDER BY guild_id, platform, canonical_url
"""


def refuse_existing_duplicates(apps, schema_editor):
    """Stop with a list of the duplicates rather than pick which post (and its snapshots) to drop."""
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":  # the owner is subject to forced RLS too
            cursor.execute("SELECT set_config(%s, 'on', true)", [BYPASS_SETTING])
        cursor.execute(DUPLICATES)
        rows = cursor.fetchall()
    if not rows:
        return
    listed = "\n".join(
        f"  guild {guild} {platform} {url}: {count} posts (ids {low}..{high})"
        for guild, platform, url, count, low, high in rows[:50]
    )
    raise RuntimeError(
        f"{len(rows)} short links were submitted more than once in the same guild; keep one post of each "
        f"(reject or delete the others in Django admin, as the owner role), then run migrate again:\n{listed}"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("guilds", "0005_botcallback"),
        ("tracking", "0011_post_caption_hash"),
    ]

    operations = [
        migrations.RunPython(refuse_existing_duplicates, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="post",
            constraint=models.UniqueConstraint(
                condition=models.Q(("external_id__isnull", True)),
                fields=("guild", "platform", "canonical_url"),
                name="post_unique_pending_url_per_guild",
            ),
        ),
    ]
