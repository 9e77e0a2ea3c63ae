"""Discord's HTTP interactions endpoint.

No authentication of its own: the Ed25519 signature is the authentication, checked on the raw body
before anything is parsed (Sentry's pattern: verify, answer PING, dispatch).
"""

from __future__ import annotations

import structlog
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core import jsonbody
from core.api.errors import error_response
from core.client_ip import client_ip
from core.deferred import enqueue
from dashboard_auth.services import record_security_event
from integrations.discord import commands
from integrations.discord.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, InvalidSignature, verify_interaction
from integrations.discord.tasks import complete_interaction

log = structlog.get_logger(__name__)


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
        interaction = commands.Interaction.parse(jsonbody.loads(body))
    except jsonbody.BadJson as error:
        return error_response(400, "invalid_json", error.message)
    except (ValueError, TypeError, OverflowError):
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
    # Discord must have our deferred answer before the follow-up edits it: with no broker the task
    # runs once the response is sent (core.deferred), with one a worker picks it up after commit.
    enqueue(complete_interaction, outcome.deferred)
    return JsonResponse(outcome.response)
