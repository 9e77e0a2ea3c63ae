"""The fake Apify API as a process of its own, for the fault tests: it starts runs, finishes them
after a while with one dataset item per post URL it was given, and POSTs their webhooks to the URL
the run was started with (our gunicorn), retrying like Apify when no 2xx comes back.

    python -m tests.faults.apify_process PORT_FILE

Faults are set over HTTP on the same port (POST /_fault/<name> with a JSON body), and what happened
is read back (GET /_fault/state): every request, every started run, every webhook answer.
"""

from __future__ import annotations

import copy
import json
import re
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.fakes.apify_server import FakeApifyServer, RecordedRequest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "apify"
_VIDEO = re.compile(r"/@([^/]+)/video/(\d+)")


class ProcessApify(FakeApifyServer):
    """FakeApifyServer plus a finisher thread, webhook delivery and a control API."""

    def __init__(self) -> None:
        super().__init__()
        self.finish_after = 1.0  # seconds from start to SUCCEEDED
        self.webhooks_on = True
        self.slow_once: dict[str, float] = {}  # path prefix -> seconds before the next answer
        self.late_once: dict[str, float] = {}  # path prefix -> seconds after doing the work, before answering
        self.webhook_answers: list[dict[str, Any]] = []
        self.slow_hits: list[str] = []
        self._finished: set[str] = set()
        self._started_at: dict[str, float] = {}

    def _handle(self, request: RecordedRequest):
        if request.path.startswith("/_fault/"):
            return self._control(request.method, request.path.removeprefix("/_fault/"), request.json() or {})
        for prefix, seconds in list(self.slow_once.items()):
            if request.path.startswith(prefix):
                del self.slow_once[prefix]
                with self._lock:
                    self.slow_hits.append(request.path)
                time.sleep(seconds)  # the caller is in the middle of it: a good time to kill it
        late = next((p for p in self.late_once if request.path.startswith(p) and request.method == "POST"), None)
        answer = super()._handle(request)
        if late is not None:
            time.sleep(self.late_once.pop(late))  # the run is started; its answer comes after the client gave up
        return answer

    def _start_run(self, request: RecordedRequest, actor_id: str):
        answer = super()._start_run(request, actor_id)
        with self._lock:
            self._started_at[self.started_runs[-1].run_id] = time.monotonic()
        return answer

    def _control(self, method: str, name: str, body: dict[str, Any]):
        if method == "GET" and name == "state":
            with self._lock:
                return (
                    200,
                    {},
                    {
                        "requests": [f"{r.method} {r.path}" for r in self.requests],
                        "started_runs": [s.run_id for s in self.started_runs],
                        "finished_runs": sorted(self._finished),
                        "webhook_answers": list(self.webhook_answers),
                        "slow_hits": list(self.slow_hits),
                    },
                )
        if name == "fail":
            self.fail(body["path"], *body["statuses"])
        elif name == "delay":
            self.delay(body["path"], body["seconds"])
        elif name == "slow_once":
            self.slow_once[body["path"]] = body["seconds"]
        elif name == "late_once":
            self.late_once[body["path"]] = body["seconds"]
        elif name == "clear":
            self.clear_failures()
            self.slow_once.clear()
        elif name == "settings":
            self.finish_after = body.get("finish_after", self.finish_after)
            self.webhooks_on = body.get("webhooks", self.webhooks_on)
        else:
            return 404, {}, {"error": {"type": "no-such-fault", "message": name}}
        return 200, {}, {"ok": True}

    # ------------------------------------------------------------------------------ finishing runs

    def finisher(self) -> None:
        while True:
            time.sleep(0.2)
            with self._lock:
                due = [
                    s
                    for s in self.started_runs
                    if s.run_id not in self._finished
                    and time.monotonic() - self._started_at.get(s.run_id, 0) >= self.finish_after
                ]
                self._finished.update(s.run_id for s in due)
            for started in due:
                self.add_items(f"ds-{started.run_id}", [_item(url) for url in _urls(started.input)])
                self.set_run_status(started.run_id, "SUCCEEDED")
                if self.webhooks_on:
                    threading.Thread(target=self._deliver, args=(started,), daemon=True).start()

    def _deliver(self, started) -> None:
        """POST the run's webhook like Apify: same dispatch id on every retry, until a 2xx."""
        for webhook in started.webhooks:
            payload = json.loads((FIXTURES / "apify_webhook_payload.json").read_text())
            payload.pop("_note", None)
            payload["eventData"]["actorRunId"] = payload["resource"]["id"] = started.run_id
            headers = {
                **json.loads(webhook.get("headersTemplate") or "{}"),
                "Content-Type": "application/json",
                "X-Apify-Webhook-Dispatch-Id": f"dispatch{started.run_id}",
                "X-Apify-Request-Origin": "api.apify.com",
                "X-Apify-Webhook": "fault-test",
            }
            for attempt in range(8):
                status = _post(webhook["requestUrl"], json.dumps(payload).encode(), headers)
                with self._lock:
                    self.webhook_answers.append({"run_id": started.run_id, "attempt": attempt, "status": status})
                if 200 <= status < 300:
                    break
                time.sleep(1 + attempt)


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - 127.0.0.1 only
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0  # no answer (connection refused or reset)


def _urls(run_input: Any) -> list[str]:
    """The post URLs a metrics input asks for, whatever the actor calls the field."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str) and _VIDEO.search(value):
            found.append(value)
        elif isinstance(value, dict):
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(run_input)
    return found


def _item(url: str) -> dict[str, Any]:
    """A real clockworks/tiktok-scraper item, re-pointed at the post behind ``url``."""
    handle, video_id = _VIDEO.search(url).groups()
    item = copy.deepcopy(json.loads((FIXTURES / "tiktok_item.json").read_text()))
    item.pop("_note", None)
    item.update(id=video_id, webVideoUrl=url, submittedVideoUrl=url, playCount=1000, diggCount=100)
    item["authorMeta"]["name"] = handle
    item["authorMeta"]["id"] = "author-id-of-" + handle
    return item


def main() -> None:
    server = ProcessApify().start()
    threading.Thread(target=server.finisher, daemon=True).start()
    Path(sys.argv[1]).write_text(server.base_url.rsplit(":", 1)[1])
    threading.Event().wait()


if __name__ == "__main__":
    main()
