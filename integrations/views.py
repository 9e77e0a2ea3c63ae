"""Apify run webhooks. Apify retries any non-2xx, so only a failed proof gets a 4xx (and a 503 only
when Apify itself must be asked and cannot be).

The per-run token is the authentication (integrations.apify.tokens); the body is read raw, proven,
and only then parsed. The delivery is stored, to be processed, in the transaction that answers; a
worker (or ``manage.py track`` without a broker) processes it, and a sweeper takes over whatever a
dead process dropped.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from core.api.errors import error_response
from core.client_ip import client_ip
from core.deferred import wake_worker
from dashboard_auth.services import record_security_event
from integrations.apify.webhooks import WebhookRejected, accept_apify_delivery, adopt_other_run, verify_apify_delivery
from metrics.tasks import process_webhook_delivery


@method_decorator(csrf_exempt, name="dispatch")
class ApifyWebhookView(View):
    """POST /api/webhooks/apify (metrics runs) and /api/webhooks/verify (verification runs)."""

    http_method_names = ["post"]
    purpose = "metrics"
    source = "apify"

    def post(self, request: HttpRequest) -> JsonResponse:
        ip = client_ip(request)
        try:
            body = _read_body(request)
            delivery = verify_apify_delivery(headers=request.headers, body=body, purpose=self.purpose)
            if delivery.other_run:  # maybe a second run of a retried start: Apify is asked
                delivery = adopt_other_run(delivery=delivery)
        except WebhookRejected as exc:
            if exc.status < 500:
                record_security_event(kind="webhook_rejected", source=self.source, reason=exc.message, ip=ip)
            return error_response(exc.status, exc.code, exc.message)
        row, outcome = accept_apify_delivery(delivery=delivery, source=self.source, ip=ip)
        if outcome == "duplicate":
            return JsonResponse({"status": "duplicate", "message": "This dispatch was already processed."}, status=200)
        if outcome in ("accepted", "requeued"):
            wake_worker(process_webhook_delivery, row.pk)  # stored either way: a sweeper finds it
        return JsonResponse({"status": "accepted"}, status=202)


def _read_body(request: HttpRequest) -> bytes:
    """The raw body, refused past WEBHOOK_MAX_BODY_BYTES by Content-Length and by what was read."""
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    too_large = WebhookRejected(413, "too_large", f"The body is over {limit} bytes.")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise WebhookRejected(400, "bad_length", "Content-Length is not a number.") from None
    if declared > limit:
        raise too_large
    body = request.read(limit + 1)
    if len(body) > limit:
        raise too_large
    return body
