"""manage.py purge: traffic records go after their retention; work still to do and the product stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from dashboard_auth.models import SecurityEvent
from dashboard_auth.services import record_security_event
from guilds.models import GuildNotification
from integrations.models import WebhookDelivery
from metrics.models import VideoMetrics
from tests.factories import make_post, make_snapshot
from tracking.retention import purge

pytestmark = pytest.mark.django_db


def test_old_traffic_goes_and_work_to_do_stays(guild, bypass, capsys):
    post = make_post(guild)
    make_snapshot(post, views=10, at=timezone.now() - timedelta(days=400))
    with time_machine.travel(timezone.now() - timedelta(days=200)):
        record_security_event(kind="key_rejected", source="bot", reason="x", ip="203.0.113.9")
        done = WebhookDelivery.objects.create(source="apify", delivery_id="old-done", state="done")
        todo = WebhookDelivery.objects.create(source="apify", delivery_id="old-todo", state="to_process")
        with bypass():
            GuildNotification.objects.create(guild=guild, kind="x", event_key="sent", title="t", status="sent")
            GuildNotification.objects.create(guild=guild, kind="x", event_key="pending", title="t")
    record_security_event(kind="key_rejected", source="bot", reason="fresh", ip="203.0.113.10")

    call_command("purge", "--dry-run")
    assert "security events: would delete 1" in capsys.readouterr().out
    assert SecurityEvent.objects.count() == 2  # a dry run deletes nothing

    counts = purge()

    assert counts["security events"] == 1 and counts["webhook deliveries"] == 1
    assert list(SecurityEvent.objects.values_list("reason", flat=True)) == ["fresh"]
    assert (
        not WebhookDelivery.objects.filter(pk=done.pk).exists() and WebhookDelivery.objects.filter(pk=todo.pk).exists()
    )
    with bypass():
        assert list(GuildNotification.objects.values_list("event_key", flat=True)) == ["pending"]
        assert VideoMetrics.objects.count() == 1  # snapshots are the product: never purged


def test_guild_change_notes_go_after_a_day(guild, bypass):
    from core.models import GuildChange

    with bypass():
        GuildChange.objects.all().delete()  # those the factories' writes noted (PostgreSQL)
        old = GuildChange.objects.create(guild_id=guild.pk, xid=1, at=timezone.now() - timedelta(days=1, minutes=1))
        fresh = GuildChange.objects.create(guild_id=guild.pk, xid=2, at=timezone.now() - timedelta(hours=23))

    assert purge()["guild change notes"] == 1

    with bypass():
        assert list(GuildChange.objects.values_list("pk", flat=True)) == [fresh.pk]
        assert not GuildChange.objects.filter(pk=old.pk).exists()
