"""JSON log lines: a request id on every line of a request, and no secret ever written."""

import io
import json
import logging

import pytest

from core.logging import REDACTED, redact, scrub

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_lines():
    """Every line the root logger writes during the test, through the project's JSON formatter."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(root.handlers[0].formatter)
    loggers = [root, logging.getLogger("django_structlog")]
    previous = [logger.level for logger in loggers]
    root.addHandler(handler)
    for logger in loggers:
        logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    root.removeHandler(handler)
    for logger, level in zip(loggers, previous, strict=True):
        logger.setLevel(level)


def test_every_line_of_a_request_carries_its_request_id(client, log_lines, monkeypatch):
    from django.core.cache import cache

    def down(*args, **kwargs):
        raise ConnectionError("cache unreachable")

    monkeypatch.setattr(cache, "set", down)  # readyz then logs a warning from inside the request
    client.get("/readyz?token=abc123secret")
    ours = ("django_structlog", "tracking", "core")
    lines = [line for line in log_lines() if line.get("logger", "").startswith(ours)]
    assert {line["event"] for line in lines} >= {"request_started", "readyz_cache_down", "request_finished"}
    ids = {line.get("request_id") for line in lines}
    assert len(ids) == 1 and None not in ids
    text = json.dumps(log_lines())
    assert "abc123secret" not in text
    assert '"code": 503' in text  # the status is not mistaken for a secret


@pytest.mark.parametrize(
    ("event", "leaked"),
    [
        ({"event": "x", "api_key": "k-123"}, "k-123"),
        ({"event": "x", "headers": {"Authorization": "Bearer eyJhbGciOi.abc.def"}}, "eyJhbGciOi"),
        ({"event": "x", "url": "https://h/cb?code=oauthcode123&state=s"}, "oauthcode123"),
        ({"event": "x", "detail": "sent Bearer tok_live_999 upstream"}, "tok_live_999"),
        ({"event": "x", "hook": "https://discord.com/api/webhooks/123/SeCrEtToKeN"}, "SeCrEtToKeN"),
        ({"event": "x", "refresh_token": "rt-1"}, "rt-1"),
        ({"event": "x", "url": "https://h/login?user=a&password=hunter2"}, "hunter2"),
        ({"event": "x", "url": "https://h/x?apikey=ak-777"}, "ak-777"),
        ({"event": "x", "url": "https://h/x?auth=basic-abc"}, "basic-abc"),
        ({"event": "x", "url": "https://h/x?jwt=eyJzz.yy.xx"}, "eyJzz"),
        ({"event": "x", "url": "https://h/x?a=1&session=sess-42"}, "sess-42"),
        ({"event": "request_started", "request": "GET /brand-report/0a1b2c.s3cr3t-Brand.sig/"}, "s3cr3t-Brand"),
    ],
)
def test_secrets_are_redacted(event, leaked):
    out = json.dumps(redact(None, "info", dict(event)))
    assert leaked not in out
    assert REDACTED in out


def test_scrub_keeps_ordinary_values():
    assert scrub({"guild_id": 5, "platform": "tiktok"}) == {"guild_id": 5, "platform": "tiktok"}
