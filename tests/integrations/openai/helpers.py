"""A fake OpenAI at its HTTP transport, answering in the real Responses API shape."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import httpx2

from integrations.openai.client import CaptionChecker

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "openai"
API_KEY = "sk-test-do-not-leak-0123456789abcdef"


def response_body(output_text: str, *, total_tokens: int = 64, status: str = "completed") -> dict:
    """The recorded Responses API object with its message text replaced by ``output_text``."""
    body = copy.deepcopy(json.loads((FIXTURES / "openai_response.json").read_text()))
    body["output"][0]["content"][0]["text"] = output_text
    body["usage"]["total_tokens"] = total_tokens
    body["status"] = status
    return body


class FakeOpenAI:
    """Records every request and answers each with ``handler(request)``."""

    def __init__(self, handler: Callable[[httpx2.Request], httpx2.Response]):
        self.handler = handler
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return self.handler(request)

    def checker(self, **kwargs) -> CaptionChecker:
        http_client = httpx2.Client(transport=httpx2.MockTransport(self))
        return CaptionChecker(api_key=API_KEY, http_client=http_client, **kwargs)

    def body(self, n: int = 0) -> dict:
        return json.loads(self.requests[n].content)


def answering(verdict: str, reasons: list[str], *, total_tokens: int = 64) -> FakeOpenAI:
    text = json.dumps({"verdict": verdict, "reasons": reasons})
    return FakeOpenAI(lambda request: httpx2.Response(200, json=response_body(text, total_tokens=total_tokens)))


def failing(status: int, error: dict, headers: dict | None = None) -> FakeOpenAI:
    return FakeOpenAI(lambda request: httpx2.Response(status, json={"error": error}, headers=headers))
