"""Without a broker, tasks a request enqueues run after its response has been sent."""

import pytest
from celery import shared_task
from django.db import transaction
from django.http import HttpResponse
from django.test import RequestFactory

from core.deferred import AfterResponseMiddleware, enqueue

pytestmark = pytest.mark.django_db
RAN: list[str] = []


@shared_task(name="tests.record_call")
def record_call(value: str) -> None:
    RAN.append(value)


@pytest.fixture(autouse=True)
def _clear():
    RAN.clear()


def test_an_eager_task_runs_after_the_response_is_sent(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True

    def view(request):
        with transaction.atomic():
            enqueue(record_call, "webhook")
        return HttpResponse("accepted", status=202)

    with pytest.MonkeyPatch.context() as mp:  # commit callbacks run at once, as outside a test transaction
        mp.setattr(transaction, "on_commit", lambda fn, *a, **k: fn())
        response = AfterResponseMiddleware(view)(RequestFactory().post("/api/webhooks/apify"))
    assert response.status_code == 202 and RAN == []  # answered, nothing processed yet
    response.close()  # the WSGI server has sent the answer
    assert RAN == ["webhook"]


def test_outside_a_request_the_task_runs_at_commit(settings, django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=True):
        enqueue(record_call, "command")
    assert RAN == ["command"]


def test_a_failing_task_after_the_response_is_logged_not_raised(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True

    @shared_task(name="tests.explode")
    def explode() -> None:
        raise RuntimeError("boom")

    def view(request):
        enqueue(explode)
        return HttpResponse(status=202)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(transaction, "on_commit", lambda fn, *a, **k: fn())
        response = AfterResponseMiddleware(view)(RequestFactory().post("/"))
    response.close()  # must not raise into the server
