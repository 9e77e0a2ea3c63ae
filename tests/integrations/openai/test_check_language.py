import httpx2

from integrations.openai.client import UNREADABLE_REASON, CaptionVerdict

from .helpers import FakeOpenAI, answering, response_body

GOOD_CAPTION = "New drop from @acme is here #ad"


def check(fake: FakeOpenAI, caption: str = GOOD_CAPTION, **kwargs) -> CaptionVerdict:
    return fake.checker(**kwargs).check_language(caption=caption)


def test_clean_caption_passes_and_reports_the_tokens_spent():
    fake = answering("pass", [], total_tokens=64)

    assert check(fake) == CaptionVerdict(verdict="pass", reasons=(), called_openai=True, tokens_used=64)


def test_request_sends_the_caption_to_the_configured_model_with_a_strict_schema():
    fake = answering("pass", [])
    check(fake, model="gpt-4.1-mini")

    assert len(fake.requests) == 1
    assert fake.requests[0].url.path == "/v1/responses"
    body = fake.body()
    assert body["model"] == "gpt-4.1-mini"
    assert GOOD_CAPTION in body["input"]
    fmt = body["text"]["format"]
    assert (fmt["type"], fmt["strict"]) == ("json_schema", True)
    assert fmt["schema"]["properties"]["verdict"]["enum"] == ["pass", "warn", "fail"]
    assert fake.requests[0].headers["authorization"].startswith("Bearer sk-test")


def test_base_url_is_honoured():
    fake = answering("pass", [])
    check(fake, base_url="https://llm-proxy.internal/v1")

    assert str(fake.requests[0].url) == "https://llm-proxy.internal/v1/responses"


def test_model_warning_is_passed_on_with_its_reasons():
    fake = answering("warn", ["'recieve' is misspelled"])

    verdict = check(fake)

    assert (verdict.verdict, verdict.reasons) == ("warn", ("'recieve' is misspelled",))


def test_model_failure_fails_the_caption():
    assert check(answering("fail", ["contains a slur"])).verdict == "fail"


def test_garbled_model_output_is_a_warning_not_a_crash():
    fake = FakeOpenAI(lambda r: httpx2.Response(200, json=response_body("Sure! The caption looks {great")))

    verdict = check(fake)

    assert verdict == CaptionVerdict(verdict="warn", reasons=(UNREADABLE_REASON,), called_openai=True, tokens_used=64)


def test_answer_outside_the_schema_is_a_warning():
    text = '{"verdict": "excellent", "reasons": []}'
    fake = FakeOpenAI(lambda r: httpx2.Response(200, json=response_body(text)))

    assert check(fake).reasons == (UNREADABLE_REASON,)


def test_truncated_answer_is_a_warning():
    body = response_body('{"verdict": "pass", "reas', status="incomplete")
    fake = FakeOpenAI(lambda r: httpx2.Response(200, json=body))

    assert check(fake).reasons == (UNREADABLE_REASON,)


def test_non_json_http_body_is_a_warning():
    fake = FakeOpenAI(lambda r: httpx2.Response(200, text="<html>gateway</html>"))

    verdict = check(fake)

    assert (verdict.verdict, verdict.reasons, verdict.tokens_used) == ("warn", (UNREADABLE_REASON,), 0)


def test_model_reasons_are_trimmed_for_discord():
    fake = answering("warn", ["x" * 500] + [f"reason {n}" for n in range(10)])

    reasons = check(fake).reasons

    assert len(reasons) == 5
    assert len(reasons[0]) == 200
