"""The inbound bot callbacks endpoint. The Standard Webhooks signature is the authentication,
checked on the raw body before anything is parsed."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.api.errors import error_response
from core.client_ip import client_ip
from integrations.bot.callbacks import CallbackRejected, accept_inbound_callback


@csrf_exempt
@require_POST
def bot_callbacks(request: HttpRequest) -> JsonResponse:
    """POST /api/callbacks: signed events from the bot (Standard Webhooks). Replays are ignored."""
    try:
        result = accept_inbound_callback(headers=request.headers, body=request.body, ip=client_ip(request))
    except CallbackRejected as rejected:
        return error_response(rejected.status, rejected.code, rejected.message, rejected.fields)
    status = "duplicate" if result.duplicate else ("processed" if result.handled else "ignored")
    return JsonResponse({"id": result.delivery_id, "type": result.event_type, "status": status})
