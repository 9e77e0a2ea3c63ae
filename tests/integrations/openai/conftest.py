import pytest


@pytest.fixture(autouse=True)
def _no_openai_environment(monkeypatch):
    """The SDK reads these when an argument is omitted; a developer's shell must not change the tests."""
    for name in (
        "OPENAI_BASE_URL",
        "OPENAI_ORG_ID",
        "OPENAI_PROJECT_ID",
        "OPENAI_API_KEY",
        "OPENAI_ADMIN_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
