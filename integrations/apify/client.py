"""Apify REST API behind a small interface of ours (apify-client 3.x underneath).

Returns frozen dataclasses and raises only ``IntegrationError``: 4xx answers other than 408/429 are
permanent; 408, 429, 5xx, timeouts and connection failures are transient (after the SDK's own retries,
with exponential backoff), with ``retry_after`` taken from Apify's ``Retry-After`` header when present.

Run webhooks are Apify *ad-hoc* webhooks (the ``webhooks`` run option, a base64 JSON list). apify-client
3.x builds that parameter itself and supports ``headersTemplate``, which carries our per-run token.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import impit
from apify_client import ApifyClient as _SdkClient
from apify_client.errors import ApifyApiError, ApifyClientError
from apify_client.http_clients import ImpitHttpClient

from integrations.errors import IntegrationError

DEFAULT_BASE_URL = "https://api.apify.com"
TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED"})
# Webhook event types use underscores (ACTOR.RUN.TIMED_OUT) where run statuses use hyphens (TIMED-OUT).
RUN_FINISHED_EVENTS = ("ACTOR.RUN.SUCCEEDED", "ACTOR.RUN.FAILED", "ACTOR.RUN.TIMED_OUT", "ACTOR.RUN.ABORTED")


@dataclass(frozen=True)
class RunInfo:
    """An actor run as Apify reports it. ``actor_id`` is Apify's internal actor id, not "user/name"."""

    run_id: str
    actor_id: str
    status: str  # READY, RUNNING, SUCCEEDED, FAILED, TIMING-OUT, TIMED-OUT, ABORTING, ABORTED
    dataset_id: str | None
    started_at: datetime | None
    finished_at: datetime | None
    status_message: str | None

    @property
    def is_terminal(self) -> bool:
        """The run will not change any more (its dataset is final)."""
        return self.status in TERMINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


class ApifyClient:
    """Start actor runs, read their state and their datasets. Safe to share between threads."""

    def __init__(
        self,
        *,
        token: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout_s: float = 30,
        max_retries: int = 3,
        retry_delay_s: float = 0.5,
    ):
        """``max_retries`` retries follow the first attempt, ``retry_delay_s`` apart and doubling."""
        if not token:
            raise ValueError("APIFY_API_TOKEN is empty")
        timeout = timedelta(seconds=timeout_s)
        self._http = _HeaderKeepingHttpClient(
            timeout_short=timeout,
            timeout_medium=timeout,
            timeout_long=timeout,
            timeout_max=timeout,  # the SDK doubles timeouts per attempt; keep each attempt at timeout_s
            max_retries=max_retries,
            min_delay_between_retries=timedelta(seconds=retry_delay_s),
        )
        self._sdk = _SdkClient.with_custom_http_client(
            token, api_url=base_url, api_public_url=base_url, http_client=self._http
        )

    def start_run(
        self,
        *,
        actor_id: str,
        run_input: dict[str, Any],
        webhook_url: str,
        webhook_headers: Mapping[str, str],
        event_types: Sequence[str] = RUN_FINISHED_EVENTS,
        max_items: int | None = None,
    ) -> RunInfo:
        """Start ``actor_id`` ("user/name" or id) with an ad-hoc webhook that POSTs ``webhook_headers``.

        Not idempotent: a 5xx after Apify accepted the start can, on the SDK's retry, start a second run.
        """
        webhook = {
            "eventTypes": list(event_types),
            "requestUrl": webhook_url,
            "headersTemplate": json.dumps(dict(webhook_headers)),
        }
        with self._translated(f"start of actor {actor_id}"):
            run = self._sdk.actor(actor_id).start(run_input=run_input, webhooks=[webhook], max_items=max_items)
        return _run_info(run)

    def get_run(self, *, run_id: str) -> RunInfo:
        """The run's current state; a run Apify does not know is a permanent error (code "not_found")."""
        with self._translated(f"read of run {run_id}"):
            run = self._sdk.run(run_id).get()
        if run is None:
            raise IntegrationError(f"Apify run {run_id} not found", permanent=True, code="not_found", status=404)
        return _run_info(run)

    def list_runs(self, *, actor_id: str, started_after: datetime, started_before: datetime) -> list[RunInfo]:
        """The actor's runs started in [started_after, started_before], oldest first (at most 1000)."""
        with self._translated(f"list of runs of actor {actor_id}"):
            page = (
                self._sdk.actor(actor_id)
                .runs()
                .list(started_after=started_after, started_before=started_before, limit=1000)
            )
        return [_run_info(item) for item in page.items]

    def get_run_input(self, *, run_id: str) -> Any:
        """The input the run was started with (its key-value store's INPUT record), or None."""
        with self._translated(f"read of the input of run {run_id}"):
            record = self._sdk.run(run_id).key_value_store().get_record("INPUT")
        return None if record is None else record.get("value")

    def iter_dataset_items(self, *, dataset_id: str, page_size: int = 1000) -> Iterator[dict[str, Any]]:
        """Every item of the dataset, fetched ``page_size`` at a time (offset/limit pagination).

        Errors surface while iterating, as IntegrationError, possibly after some items were yielded.
        """
        pages = self._sdk.dataset(dataset_id).iterate_items(chunk_size=page_size)
        while True:
            with self._translated(f"read of dataset {dataset_id}"):
                item = next(pages, _DONE)
            if item is _DONE:
                return
            yield item

    def close(self) -> None:
        self._http.close()

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        self._http.forget_retry_after()
        try:
            yield
        except ApifyApiError as exc:
            raise self._api_error(exc, what) from exc
        except impit.TimeoutException as exc:
            raise IntegrationError(f"Apify {what} timed out", permanent=False, code="timeout") from exc
        except (impit.HTTPError, impit.InvalidURL, impit.StreamError) as exc:
            permanent = not self._http.is_retryable_transport_error(exc)
            message = f"Apify {what} failed: {_first_line(exc)}"
            raise IntegrationError(message, permanent=permanent, code="network") from exc
        except (ApifyClientError, ValueError, KeyError) as exc:
            # A body or header we cannot read (bad JSON, a Run missing fields, no pagination headers).
            message = f"Apify {what}: malformed response ({_first_line(exc)})"
            raise IntegrationError(message, permanent=True, code="malformed") from exc

    def _api_error(self, exc: ApifyApiError, what: str) -> IntegrationError:
        status = exc.status_code
        transient = status in (408, 429) or status >= 500
        kind = f" {exc.type}" if exc.type else ""
        return IntegrationError(
            f"Apify {what} failed: HTTP {status}{kind}: {exc.message}",
            permanent=not transient,
            retry_after=self._http.retry_after() if transient else None,
            code=exc.type or f"http_{status}",
            status=status,
        )


_DONE = object()


class _HeaderKeepingHttpClient(ImpitHttpClient):
    """The SDK's impit transport, remembering the last error response's Retry-After.

    ApifyApiError drops the response headers, so we note Retry-After as responses pass. Per thread, since
    one client may serve several worker threads.
    """

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._local = threading.local()

    def send_request(self, **kwargs: Any) -> impit.Response:
        response = super().send_request(**kwargs)
        if response.status_code >= 400:
            self._local.retry_after = _parse_retry_after(response.headers.get("retry-after"))
        return response

    def forget_retry_after(self) -> None:
        self._local.retry_after = None

    def retry_after(self) -> float | None:
        return getattr(self._local, "retry_after", None)


def _first_line(exc: BaseException) -> str:
    """``Type: first line`` - impit and pydantic messages run to many lines."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _run_info(run: Any) -> RunInfo:
    status = run.status
    return RunInfo(
        run_id=run.id,
        actor_id=run.act_id,
        status=str(getattr(status, "value", status)),
        dataset_id=run.default_dataset_id or None,
        started_at=run.started_at,
        finished_at=run.finished_at,
        status_message=getattr(run, "status_message", None),
    )
