"""Core's one table: which guilds' data changed, and in which transaction (``GuildChange``).

The module also makes post_migrate reach CoreConfig (Django only signals apps with a models module),
which installs the row-level-security policies and the change triggers (core/rls.py).
"""

from django.db import models
from django.db.models.functions import Now


class GuildChange(models.Model):
    """One row per transaction and guild that wrote a guild table, written by a PostgreSQL statement
    trigger, never by code (core/rls.py ``install_change_triggers``): the guild written
    (``EVERY_GUILD``, 0, for a write under an RLS bypass or by a role above RLS without a scope, which
    may have written any guild) and the transaction's id.

    A list page kept in a worker's memory (core/api/page_cache.py) is reused only while no change of
    its guild has committed since the database snapshot it was read under; retention deletes rows
    after a day (tracking/retention.py)."""

    EVERY_GUILD = 0

    guild_id = models.BigIntegerField(help_text="The guild written, or 0: any guild (a bypass).")
    xid = models.BigIntegerField(help_text="The writing transaction's id (pg_current_xact_id).")
    at = models.DateTimeField(db_default=Now())

    class Meta:
        indexes = [models.Index(fields=["guild_id", "xid"], name="guildchange_guild_xid")]

    def __str__(self) -> str:
        return f"guild {self.guild_id} changed in transaction {self.xid}"
