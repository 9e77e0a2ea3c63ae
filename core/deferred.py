"""Enqueue a Celery task after commit — and, when there is no broker, after the response.

With a broker, ``enqueue`` is ``transaction.on_commit(task.delay)``. Without one (the embedded
default) Celery runs tasks eagerly, in the calling thread: a webhook would then do all its processing
before answering. Inside a request, ``AfterResponseMiddleware`` collects such eager tasks and runs
them once the response has been sent (WSGI servers call ``close()`` then), so the sender still gets
its answer at once. Outside a request (commands, tests) the task runs at commit, as Celery would.
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


def _send(task, args: tuple) -> None:
    pending = _after_response.get()
    if settings.CELERY_TASK_ALWAYS_EAGER and pending is not None:
        pending.append(lambda: task.apply(args=args, throw=True))
    else:
        task.delay(*args)


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
