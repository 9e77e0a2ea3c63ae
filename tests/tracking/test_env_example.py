""".env.example stays true to the code: every variable the settings read is documented there."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _read_by(path: str, pattern: str) -> set[str]:
    return set(re.findall(pattern, (ROOT / path).read_text()))


def test_every_setting_read_from_the_environment_is_in_env_example():
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    read = _read_by("tracking/settings.py", r'env\.\w+\(\s*"([A-Z][A-Z0-9_]+)"')
    read |= _read_by("tracking/settings.py", r'\b_\w+\(\s*"([A-Z][A-Z0-9_]+)"')  # _secret, _rate, _scheduler_int...
    read |= _read_by("gunicorn.conf.py", r'(?:environ\.get|_\w+)\(\s*["\']([A-Z][A-Z0-9_]+)["\']')
    assert read - documented == set()
    assert len(read) > 60
