"""/metrics: who may scrape, what is counted, what a scrape computes, and the label caps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import structlog
from django.conf import settings as django_settings
from django.test import RequestFactory
from django.urls import resolve
from django.utils import timezone
from django_structlog.signals import bind_extra_request_metadata
from prometheus_client.parser import text_string_to_metric_families

from dashboard_auth.services import record_security_event
from guilds.budgets import usage_day
from guilds.models import GuildApiUsage
from integrations.models import ApifyRunRegistry
from tests.factories import make_post
from tracking import observability
from tracking.observability import OTHER, LabelCap, count_webhook

pytestmark = pytest.mark.django_db
TOKEN = "observability-token-0123456789abcdef"
URL = "/metrics"


@pytest.fixture
def token(settings):
    settings.OBSERVABILITY_TOKEN = TOKEN
    return TOKEN


def scrape(client) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} from one authorised scrape."""
    r = client.get(URL, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.content
    assert r["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(r.content.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


class TestAccess:
    def test_unset_token_is_404(self, client, settings):
        settings.OBSERVABILITY_TOKEN = ""
        assert client.get(URL, headers={"Authorization": "Bearer anything"}).status_code == 404

    def test_missing_token_is_401(self, client, token):
        r = client.get(URL)
        assert r.status_code == 401
        assert r["WWW-Authenticate"].startswith("Bearer")
        assert b"td_http" not in r.content

    @pytest.mark.parametrize("header", [f"Bearer {TOKEN}x", "Bearer wrong", f"Basic {TOKEN}", TOKEN, "Bearer "])
    def test_wrong_token_is_401(self, client, token, header):
        assert client.get(URL, headers={"Authorization": header}).status_code == 401

    def test_right_token_scrapes(self, client, token):
        samples = scrape(client)
        assert value(samples, "td_collector_up", collector="apify_runs") == 1

    def test_post_is_refused(self, client, token):
        assert client.post(URL, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 405


class TestRequestMetrics:
    def test_counted_by_route_template_not_raw_path(self, client, token):
        before = scrape(client)
        client.post("/api/v1/security/sessions/424242/revoke")  # 401: no key
        client.post("/api/v1/security/sessions/515151/revoke")
        after = scrape(client)
        route = "api/v1/security/sessions/<id:session_id>/revoke"
        labels = {"method": "POST", "route": route, "status": "401"}
        assert value(after, "td_http_requests_total", **labels) - value(before, "td_http_requests_total", **labels) == 2
        assert not any("424242" in str(key) for key in after)
        latency = {"method": "POST", "route": route}
        assert value(after, "td_http_request_duration_seconds_count", **latency) >= 2

    def test_unmatched_path_is_one_label(self, client, token):
        before = scrape(client)
        client.get("/no/such/page/12345")
        client.get("/another/missing")
        after = scrape(client)
        labels = {"method": "GET", "route": "unmatched", "status": "404"}
        assert value(after, "td_http_requests_total", **labels) - value(before, "td_http_requests_total", **labels) == 2
        assert not any("12345" in str(key) for key in after)

    def test_made_up_methods_share_one_label(self, client, token):
        before = scrape(client)
        for n in range(30):
            client.generic(f"BREW{n}", "/healthz")
        after = scrape(client)
        new_series = {key for key in after if key not in before and key[0] == "td_http_requests_total"}
        assert all(dict(labels)["method"] in observability.HTTP_METHODS | {OTHER} for _, labels in new_series)
        labels = {"method": OTHER, "route": "healthz", "status": "405"}
        assert (
            value(after, "td_http_requests_total", **labels) - value(before, "td_http_requests_total", **labels) == 30
        )
        assert not any("BREW" in str(key) for key in after)

    def test_every_label_comes_from_a_fixed_list(self):
        routes = observability._caps["route"].allowed()
        assert {"healthz", "metrics", "api/v1/security/sessions/<id:session_id>/revoke", "unmatched"} <= routes
        assert observability._caps["route"]("made/up/<route>") == OTHER
        assert observability._caps["status"]("200") == "200" and observability._caps["status"]("999") == OTHER
        assert observability._caps["method"]("PATCH") == "PATCH" and observability._caps["method"]("FOO") == OTHER

    def test_each_resolved_route_is_in_the_list(self, client, token):
        """The list is what the resolver reports: admin regex routes and nested includes too."""
        routes = observability._caps["route"].allowed()
        for path in ("/healthz", "/admin/", "/admin/tracking/post/", "/api/v1/guilds", "/api/schema/"):
            assert resolve(path).route in routes, path


def _worker(directory, reasons: list[str]) -> list[str]:
    """A fresh process in multiprocess mode (as a gunicorn worker) counting webhook rejections."""
    code = (
        "import django, json, sys; django.setup()\n"
        "from tracking.observability import _caps, count_webhook\n"
        "reasons = json.loads(sys.argv[1])\n"
        "for r in reasons: count_webhook('apify', 'rejected', r)\n"
        "print(json.dumps([_caps['webhook_reason'](r) for r in reasons]))\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    done = subprocess.run(  # noqa: S603  (our own interpreter and code; the argument is JSON we built)
        [sys.executable, "-c", code, json.dumps(reasons)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.django_db(transaction=False)
def test_label_caps_survive_a_recycled_worker(tmp_path):
    first = _worker(
        tmp_path, [f"reason {chr(97 + n // 26)}{chr(97 + n % 26)}" for n in range(observability.LABEL_LIMIT)]
    )
    assert OTHER not in first  # the first worker filled the cap, then exited (recycled)
    second = _worker(tmp_path, ["reason aa", "a reason never seen"])
    assert second == ["reason aa", OTHER]  # the new worker knows the cap is full


class TestLabelCap:
    def test_301_distinct_routes_give_300_labels_and_other(self):
        cap = LabelCap(300)
        labels = {cap(f"route/{n}") for n in range(301)}
        assert len(labels) == 301  # 300 real ones + "other"
        assert OTHER in labels and "route/300" not in labels

    def test_admitted_values_stay_admitted(self):
        cap = LabelCap(2)
        assert [cap("a"), cap("b"), cap("c"), cap("a"), cap("b")] == ["a", "b", OTHER, "a", "b"]

    def test_other_labels_cap_at_200(self):
        assert observability.LABEL_LIMIT == 200
        cap = LabelCap(observability.LABEL_LIMIT)
        assert sum(cap(str(n)) != OTHER for n in range(1000)) == 200


class TestWebhookMetrics:
    def test_accepts_and_rejects_by_reason(self, client, token):
        before = scrape(client)
        count_webhook("apify", "accepted")
        count_webhook("apify", "accepted")
        record_security_event(kind="webhook_rejected", source="apify", reason="bad run token")
        after = scrape(client)
        accepted = {"source": "apify", "outcome": "accepted", "reason": ""}
        rejected = {"source": "apify", "outcome": "rejected", "reason": "bad run token"}
        assert value(after, "td_webhooks_total", **accepted) - value(before, "td_webhooks_total", **accepted) == 2
        assert value(after, "td_webhooks_total", **rejected) - value(before, "td_webhooks_total", **rejected) == 1

    def test_other_security_events_are_not_webhooks(self, client, token):
        before = scrape(client)
        record_security_event(kind="login_failed", source="login", reason="bad state")
        after = scrape(client)
        assert sum(v for (n, _), v in after.items() if n == "td_webhooks_total") == sum(
            v for (n, _), v in before.items() if n == "td_webhooks_total"
        )

    def test_ids_in_reasons_do_not_make_new_series(self, client, token):
        record_security_event(kind="webhook_rejected", source="apify", reason="unknown run abc123XYZ")
        record_security_event(kind="webhook_rejected", source="apify", reason="unknown run zz9")
        samples = scrape(client)
        assert value(samples, "td_webhooks_total", source="apify", outcome="rejected", reason="unknown run #") >= 2


class TestScrapeTimeMetrics:
    def test_apify_runs_by_status(self, client, token, guild, other_guild, bypass):
        with bypass():
            for g, state in ((guild, "initiated"), (guild, "succeeded"), (other_guild, "succeeded")):
                ApifyRunRegistry.objects.create(
                    guild=g,
                    purpose="metrics",
                    platform="tiktok",
                    actor_id="a/b",
                    status=state,
                    expires_at=timezone.now() + timedelta(hours=1),
                )
        samples = scrape(client)
        assert value(samples, "td_apify_runs", status="succeeded") == 2
        assert value(samples, "td_apify_runs", status="initiated") == 1
        assert ("td_apify_runs", (("status", "failed"),)) in samples  # every status is reported, 0 included

    def test_budget_use_per_guild_today(self, client, token, guild, other_guild, bypass):
        with bypass():
            GuildApiUsage.objects.create(guild=guild, day=usage_day(), apify_run_count=7, youtube_quota_used=3)
            GuildApiUsage.objects.create(guild=other_guild, day=usage_day() - timedelta(days=1), apify_run_count=99)
        samples = scrape(client)
        assert value(samples, "td_guild_apify_runs_today", guild=str(guild.id)) == 7
        assert value(samples, "td_guild_youtube_quota_used_today", guild=str(guild.id)) == 3
        assert ("td_guild_apify_runs_today", (("guild", str(other_guild.id)),)) not in samples  # yesterday

    def test_budget_guild_label_is_capped(self, client, token, guild, other_guild, bypass, monkeypatch):
        monkeypatch.setattr(observability, "LABEL_LIMIT", 1)
        with bypass():
            GuildApiUsage.objects.create(guild=guild, day=usage_day(), apify_run_count=7)
            GuildApiUsage.objects.create(guild=other_guild, day=usage_day(), apify_run_count=2, youtube_quota_used=5)
        samples = scrape(client)
        assert value(samples, "td_guild_apify_runs_today", guild=str(guild.id)) == 7  # the busiest keeps its label
        assert value(samples, "td_guild_apify_runs_today", guild=OTHER) == 2
        assert value(samples, "td_guild_youtube_quota_used_today", guild=OTHER) == 5

    def test_scheduler_lag_is_the_oldest_due_post(self, client, token, guild):
        make_post(guild, next_refresh_at=timezone.now() - timedelta(minutes=10))
        make_post(guild, next_refresh_at=timezone.now() - timedelta(minutes=2))
        make_post(guild, next_refresh_at=timezone.now() + timedelta(hours=1))
        lag = value(scrape(client), "td_scheduler_lag_seconds")
        assert 600 <= lag < 660

    def test_scheduler_lag_is_zero_when_nothing_is_due(self, client, token, guild):
        make_post(guild, next_refresh_at=timezone.now() + timedelta(hours=1))
        assert value(scrape(client), "td_scheduler_lag_seconds") == 0

    def test_scrape_runs_a_constant_number_of_queries(self, client, token, guild, other_guild, bypass):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        def queries() -> int:
            with CaptureQueriesContext(connection) as ctx:
                scrape(client)
            return len(ctx.captured_queries)

        make_post(guild, next_refresh_at=timezone.now() - timedelta(minutes=1))
        few = queries()
        for g in (guild, other_guild):
            for _ in range(5):
                make_post(g, next_refresh_at=timezone.now() - timedelta(minutes=1))
        with bypass():
            GuildApiUsage.objects.create(guild=guild, day=usage_day(), apify_run_count=1)
            GuildApiUsage.objects.create(guild=other_guild, day=usage_day(), apify_run_count=1)
        assert queries() == few
        assert few <= 16  # 3 GROUP BY/aggregate queries, plus savepoints and RLS settings on PostgreSQL

    def test_no_queue_depth_without_a_redis_broker(self, client, token, settings):
        settings.CELERY_BROKER_URL = ""
        samples = scrape(client)
        assert not any(name == "td_celery_queue_depth" for name, _ in samples)
        assert value(samples, "td_collector_up", collector="celery_queue") == 1

    @pytest.mark.skipif(not django_settings.REDIS_URL, reason="needs Redis (set REDIS_URL)")
    def test_queue_depth_from_redis(self, client, token, settings):
        import redis

        settings.CELERY_BROKER_URL = django_settings.REDIS_URL
        r = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        r.delete("celery")
        r.rpush("celery", "a", "b", "c")
        try:
            assert value(scrape(client), "td_celery_queue_depth", queue="celery") == 3
        finally:
            r.delete("celery")

    def test_broken_collector_is_reported_down_and_the_rest_still_scrape(self, client, token, settings):
        settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
        samples = scrape(client)
        assert value(samples, "td_collector_up", collector="celery_queue") == 0
        assert value(samples, "td_collector_up", collector="apify_runs") == 1


def test_request_logs_carry_the_trusted_client_ip(settings):
    import ipaddress

    settings.TRUST_PROXY_CIDRS = [ipaddress.ip_network("127.0.0.1/32")]
    structlog.contextvars.clear_contextvars()
    spoofed = RequestFactory().get("/", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="6.6.6.6")
    bind_extra_request_metadata.send(sender=None, request=spoofed, logger=None, log_kwargs={})
    assert structlog.contextvars.get_contextvars()["ip"] == "203.0.113.5"
    proxied = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.4")
    bind_extra_request_metadata.send(sender=None, request=proxied, logger=None, log_kwargs={})
    assert structlog.contextvars.get_contextvars()["ip"] == "198.51.100.4"
    structlog.contextvars.clear_contextvars()
