"""Load the real Apify samples copied into tests/fixtures/apify/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "apify"


def load(name: str) -> dict[str, Any]:
    """A fresh copy of ``tests/fixtures/apify/<name>.json`` (callers may mutate it)."""
    return json.loads((FIXTURES / f"{name}.json").read_text())
