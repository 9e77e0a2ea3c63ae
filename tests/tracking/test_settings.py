"""Start-up refuses a production configuration that is missing or malformed, naming the setting."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "k" * 60,
    "DJANGO_ALLOWED_HOSTS": "tracking.example.com",
    "JWT_SECRET": "j" * 64,
    "API_SECRET": "a" * 40,
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def _start(env_overrides: dict[str, str | None]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JWT_", "API_", "DATABASE_"))}
    env.update(PRODUCTION)
    for key, value in env_overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    env["DJANGO_SETTINGS_MODULE"] = "tracking.settings"
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_start():
    result = _start({})
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.parametrize("name", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "JWT_SECRET", "API_SECRET"])
def test_a_missing_production_setting_stops_startup_naming_it(name):
    result = _start({name: None})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"{name} is required" in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("JWT_SECRET", "short", "JWT_SECRET must be at least 32 characters"),
        ("DATABASE_URL", "nonsense://x", "DATABASE_URL is malformed"),
        ("REDIS_URL", "http://127.0.0.1:6379", "VALKEY_URL/REDIS_URL must start with redis://"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL must be one of"),
        ("DASHBOARD_SESSION_COOKIE_SAMESITE", "sometimes", "DASHBOARD_SESSION_COOKIE_SAMESITE must be"),
        ("API_SERVICE_KEYS", "bot-only-a-name", "API_SERVICE_KEYS must be name:key:scope1|scope2"),
        ("DISCORD_PUBLIC_KEY", "zz", "DISCORD_PUBLIC_KEY must be"),
        ("TRUST_PROXY_CIDRS", "10.0.0.0/99", "TRUST_PROXY_CIDRS must be"),
        ("WEBHOOK_SIGNED_PAYLOAD_MODE", "maybe", "WEBHOOK_SIGNED_PAYLOAD_MODE must be enforce or log"),
    ],
)
def test_a_malformed_setting_stops_startup_naming_it(name, value, message):
    result = _start({name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_development_placeholder_secret_is_refused_in_production():
    result = _start({"JWT_SECRET": "insecure-development-only-jwt_secret-0123456789abcdef0123456789abcdef"})
    assert result.returncode != 0
    assert "JWT_SECRET still has the development placeholder value" in result.stderr


def _check_deploy(jwt_secret: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JWT_", "API_", "DATABASE_"))}
    env.update(PRODUCTION, JWT_SECRET=jwt_secret, DJANGO_SETTINGS_MODULE="tracking.settings")
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--tag", "security"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_32_byte_jwt_secret_starts_but_check_deploy_warns():
    result = _check_deploy("j" * 40)
    assert "tracking.W002" in result.stderr + result.stdout
    assert "JWT_SECRET is 40 bytes; use 64 or more." in result.stderr + result.stdout


def test_a_64_byte_jwt_secret_passes_check_deploy_without_the_warning():
    result = _check_deploy("j" * 64)
    assert "tracking.W002" not in result.stderr + result.stdout
