"""Queueing Celery tasks after commit — and, when there is no broker, after the response.

``enqueue(task, *args)``: with a broker, ``task.delay`` once the transaction commits. Without one
(the embedded default) Celery runs tasks eagerly, in the calling thread; inside a request,
``AfterResponseMiddleware`` runs such tasks once the response has been sent (WSGI servers call
``close()`` then), so the sender still gets its answer at once. For work that must be answered
quickly and may be lost with the process (a Discord follow-up message).

``wake_worker(task, *args)``: for work that is already durable — a row a sweeper will find (an
accepted webhook delivery). With a broker, the task is queued after commit so a worker starts at
once; a broker that cannot be reached is logged, not raised: the row stays to be done. Without a
broker nothing is queued: ``manage.py track`` is the worker and finds the row itself.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable

import structlog
from django.conf import settings
from django.db import transaction

log = structlog.get_logger(__name__)

_after_response: contextvars.ContextVar[list[Callable[[], None]] | None] = contextvars.ContextVar(
    "after_response", default=None
)


def enqueue(task, *args) -> None:
    """Send ``task(*args)`` once the current transaction commits (see the module docstring)."""
    transaction.on_commit(lambda: _send(task, args))


def wake_worker(task, *args) -> None:
    """Queue ``task(*args)`` after commit when a broker is configured; never raises for the broker."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return  # no broker: manage.py track picks the durable work up
    transaction.on_commit(lambda: _delay_or_log(task, args))


def _send(task, args: tuple) -> None:
    pending = _after_response.get()
    if settings.CELERY_TASK_ALWAYS_EAGER and pending is not None:
        pending.append(lambda: task.apply(args=args, throw=True))
    elif settings.CELERY_TASK_ALWAYS_EAGER:
        task.apply(args=args, throw=True)
    else:
        _delay_or_log(task, args)


def _delay_or_log(task, args: tuple) -> None:
    try:
        task.delay(*args)
    except Exception as exc:  # noqa: BLE001 - kombu raises several kinds; the work is not lost by this
        log.warning("broker_unreachable", task=task.name, error=f"{type(exc).__name__}: {exc}"[:300])


def _run_all(calls: list[Callable[[], None]]) -> None:
    for call in calls:
        try:
            call()
        except Exception:  # the answer is already out: log, never raise into the server
            log.exception("after_response_task_failed")


class AfterResponseMiddleware:
    """Runs the eager tasks a request enqueued after its response has been sent."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        calls: list[Callable[[], None]] = []
        token = _after_response.set(calls)
        try:
            response = self.get_response(request)
        finally:
            _after_response.reset(token)
        if calls:
            response._resource_closers.append(lambda: _run_all(calls))
        return response
