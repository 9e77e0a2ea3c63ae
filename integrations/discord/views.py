"""Discord's HTTP interactions endpoint and the inbound bot callbacks endpoint.

Neither view has authentication of its own: the signature is the authentication (Ed25519 for
Discord, Standard Webhooks HMAC for the bot), checked on the raw body before anything is parsed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.api.errors import error_response
from core.client_ip import client_ip
from dashboard_auth.services import record_security_event
from integrations.callbacks import CallbackRejected, accept_inbound_callback
from integrations.discord import commands
from integrations.discord.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, InvalidSignature, verify_interaction

log = structlog.get_logger(__name__)


class _ThenRun(JsonResponse):
    """A response that runs ``after`` once it has been sent (WSGI servers call ``close()`` then).

    Used when Celery runs eagerly (no broker): the deferred command's follow-up must not be sent to
    Discord before Discord has received our deferred answer."""

    def __init__(self, data: dict[str, Any], *, after: Callable[[], None]) -> None:
        super().__init__(data)
        self._after = after

    def close(self) -> None:
        try:
            super().close()
        finally:
            try:
                self._after()
            except Exception:  # noqa: BLE001 - the answer is already out; log and move on
                log.exception("interaction_after_response_failed")


@csrf_exempt
@require_POST
def interactions(request: HttpRequest) -> JsonResponse:
    """POST /discord/interactions: PING → PONG, slash commands, autocomplete. Bad signature → 401."""
    if not settings.DISCORD_PUBLIC_KEY:
        return error_response(503, "not_configured", "Discord interactions are off: DISCORD_PUBLIC_KEY is not set.")
    body = request.body
    try:
        verify_interaction(
            public_key_hex=settings.DISCORD_PUBLIC_KEY,
            signature_hex=request.headers.get(SIGNATURE_HEADER),
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            body=body,
            tolerance_s=settings.WEBHOOK_SIGNED_PAYLOAD_TTL_SECONDS,
        )
    except InvalidSignature as error:
        record_security_event(kind="webhook_rejected", source="discord", reason=error.reason, ip=client_ip(request))
        return error_response(401, "invalid_signature", "The request signature is missing or not valid.")
    try:
        interaction = commands.Interaction.parse(json.loads(body))
    except (ValueError, TypeError):
        return error_response(400, "invalid_json", "The body is not a Discord interaction.")
    if interaction.type == commands.PING:
        return JsonResponse({"type": commands.PONG})
    if interaction.type == commands.AUTOCOMPLETE:
        return JsonResponse(commands.autocomplete(interaction))
    if interaction.type != commands.APPLICATION_COMMAND:
        return error_response(400, "unsupported", f"Interaction type {interaction.type} is not supported.")
    outcome = commands.respond(interaction)
    if outcome.deferred is None:
        return JsonResponse(outcome.response)
    return _deferred(outcome)


def _deferred(outcome: commands.Outcome) -> JsonResponse:
    from integrations.discord.tasks import complete_interaction

    payload = outcome.deferred
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return _ThenRun(outcome.response, after=lambda: complete_interaction.apply(args=[payload]))
    transaction.on_commit(lambda: complete_interaction.delay(payload))
    return JsonResponse(outcome.response)


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
