"""Apify run webhooks. Apify retries any non-2xx, so only a failed proof gets a 4xx — never a 5xx.

The per-run token is the authentication (integrations.apify.tokens); the body is read raw, proven,
and only then parsed. Processing happens after commit, in a task.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from core.api.errors import error_response
from core.client_ip import client_ip
from core.deferred import enqueue
from dashboard_auth.services import record_security_event
from integrations.apify.webhooks import WebhookRejected, accept_apify_delivery, verify_apify_delivery
from metrics.tasks import process_apify_run, process_verification_run_task


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
        except WebhookRejected as exc:
            record_security_event(kind="webhook_rejected", source=self.source, reason=exc.message, ip=ip)
            return error_response(exc.status, exc.code, exc.message)
        if not accept_apify_delivery(delivery=delivery, source=self.source, ip=ip):
            return JsonResponse({"status": "duplicate", "message": "This dispatch was already accepted."}, status=200)
        task = process_verification_run_task if delivery.run.purpose == "verification" else process_apify_run
        enqueue(task, delivery.run.pk)  # with no broker, after the response
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
