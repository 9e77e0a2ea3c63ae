"""The one client for all outbound Discord HTTP traffic: messages, webhooks, interactions, OAuth.

Every request has a timeout. 429s are waited out here (Discord tells us how long, and a rate-limited
request was not processed, so repeating it cannot duplicate a message); every other failure becomes
an ``IntegrationError`` whose ``permanent`` says whether a retry can help, and ``DestinationGone``
when a channel or webhook no longer accepts our messages. 5xx and timeouts are not retried here:
a POST that timed out may have been delivered, so the caller's task decides.

Secrets (bot token, webhook and interaction tokens, OAuth codes) never appear in an error message,
and transport exceptions are not chained because their text contains the full URL.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import requests
from django.conf import settings

from integrations.discord.messages import (
    EPHEMERAL_FLAG,
    USERNAME_LIMIT,
    Embed,
    message_payload,
)
from integrations.errors import IntegrationError

__all__ = [
    "Attachment",
    "DestinationGone",
    "DiscordClient",
    "DiscordGuild",
    "DiscordUser",
    "Embed",
    "RegisteredCommand",
    "TokenSet",
    "redact_webhook_url",
]

API_BASE = "https://discord.com/api/v10"
USER_AGENT = "DiscordBot (https://github.com/tracking-data, 1.0)"
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
GUILDS_PAGE_SIZE = 200

# Unknown Channel, Unknown Webhook, Missing Access, Invalid Webhook Token.
_GONE_CODES = frozenset({10003, 10015, 50001, 50027})
_DEFAULT_RETRY_AFTER_S = 1.0
_WEBHOOK_HOSTS = frozenset(
    f"{prefix}{domain}" for prefix in ("", "ptb.", "canary.") for domain in ("discord.com", "discordapp.com")
)
_WEBHOOK_PATH = re.compile(r"^/api(?:/v\d+)?/webhooks/(\d+)/([A-Za-z0-9_-]+)/?$")
_WEBHOOK_URL_IN_TEXT = re.compile(r"https?://[^\s/]+/api(?:/v\d+)?/webhooks/(\d+)/[^\s/?#]+")
_SNOWFLAKE = re.compile(r"^\d{1,20}$")
# Where Discord serves message attachments; nothing else is fetched (no SSRF through a crafted URL).
_ATTACHMENT_HOSTS = frozenset({"cdn.discordapp.com", "media.discordapp.net"})
_DOWNLOAD_CHUNK = 64 * 1024
_TOKEN = re.compile(r"^[A-Za-z0-9._-]+$")


class DestinationGone(IntegrationError):
    """The channel or webhook is deleted, or we lost access to it: stop using it and tell staff."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message, permanent=True, code=code)


@dataclass(frozen=True)
class Attachment:
    """A downloaded Discord attachment. ``content_type`` is what the CDN said, without parameters."""

    content: bytes = field(repr=False)
    content_type: str
    filename: str
    url: str

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass(frozen=True)
class TokenSet:
    """An OAuth2 token response. ``repr`` hides the tokens so they cannot leak into logs."""

    access_token: str = field(repr=False)
    token_type: str
    expires_in: int
    refresh_token: str = field(repr=False)
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class DiscordUser:
    """The logged-in Discord user (``identify`` scope)."""

    id: str
    username: str
    global_name: str | None
    avatar: str | None

    @property
    def avatar_url(self) -> str | None:
        return f"https://cdn.discordapp.com/avatars/{self.id}/{self.avatar}.png" if self.avatar else None


@dataclass(frozen=True)
class DiscordGuild:
    """A guild the logged-in user belongs to, with that user's permission bitfield there."""

    id: str
    name: str
    icon: str | None
    owner: bool
    permissions: int

    @property
    def can_manage(self) -> bool:
        """Owner, ADMINISTRATOR or MANAGE_GUILD: who may administer the guild in the dashboard."""
        return self.owner or bool(self.permissions & (ADMINISTRATOR | MANAGE_GUILD))


@dataclass(frozen=True)
class RegisteredCommand:
    """An application command as Discord stored it."""

    id: str
    name: str


def redact_webhook_url(url: str) -> str:
    """``https://discord.com/api/webhooks/{id}/***`` - safe to log or show; never echoes a bad URL."""
    parsed = _parse_webhook_url(url)
    return _redacted(parsed[0]) if parsed else "<not a Discord webhook URL>"


class DiscordClient:
    """Outbound Discord calls. ``bot_token`` may be None: only bot-authenticated calls then fail.

    ``timeout_s`` applies to every request (pass DISCORD_HTTP_TIMEOUT_MS / 1000). A 429 is retried
    up to ``max_retries`` times, sleeping what Discord asks unless that exceeds ``max_retry_sleep_s``,
    in which case the transient error (with ``retry_after``) is raised at once so a worker is not
    blocked for minutes.
    """

    def __init__(
        self,
        *,
        bot_token: str | None,
        timeout_s: float = 10,
        api_base: str = API_BASE,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 3,
        max_retry_sleep_s: float = 30.0,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self._bot_token = bot_token or None
        self._timeout_s = timeout_s
        self._api_base = api_base.rstrip("/")
        self._session = session or requests.Session()
        self._sleep = sleep
        self._max_retries = max_retries
        self._max_retry_sleep_s = max_retry_sleep_s

    # --- messages -------------------------------------------------------------------------------

    def send_channel_message(
        self,
        *,
        channel_id: str,
        content: str = "",
        embeds: Sequence[Embed] = (),
        mention_user_ids: Sequence[str] = (),
    ) -> str:
        """Post a message as the bot; return its id. Raises DestinationGone, IntegrationError."""
        channel = _snowflake(channel_id, "channel id")
        body = message_payload(content=content, embeds=embeds, mention_user_ids=mention_user_ids)
        data = self._call(
            "POST",
            f"/channels/{channel}/messages",
            label=f"sending a message to channel {channel}",
            headers=self._bot_headers(),
            json=body,
        )
        return _message_id(data)

    def send_webhook_message(
        self,
        *,
        webhook_url: str,
        content: str = "",
        embeds: Sequence[Embed] = (),
        username: str | None = None,
        mention_user_ids: Sequence[str] = (),
    ) -> str:
        """Execute a channel webhook and wait for the message; return its id.

        Only discord.com / discordapp.com webhook URLs are accepted (anything else is
        DestinationGone with code ``invalid_destination``); a ``thread_id`` in the URL is kept.
        """
        parsed = _parse_webhook_url(webhook_url)
        if parsed is None:
            raise DestinationGone("the configured Discord webhook URL is not valid", code="invalid_destination")
        webhook_id, token, thread_id = parsed
        body = message_payload(content=content, embeds=embeds, mention_user_ids=mention_user_ids)
        if username:
            body["username"] = username[:USERNAME_LIMIT]
        params = {"wait": "true", **({"thread_id": thread_id} if thread_id else {})}
        data = self._call(
            "POST",
            f"/webhooks/{webhook_id}/{token}",
            label=f"executing webhook {_redacted(webhook_id)}",
            params=params,
            json=body,
        )
        return _message_id(data)

    def open_dm_channel(self, *, user_id: str) -> str:
        """The id of the bot's direct-message channel with ``user_id`` (Discord creates it if needed)."""
        user = _snowflake(user_id, "user id")
        data = self._call(
            "POST",
            "/users/@me/channels",
            label=f"opening a direct message channel with user {user}",
            headers=self._bot_headers(),
            json={"recipient_id": user},
        )
        return str(_field(data, "id"))

    def send_direct_message(self, *, user_id: str, content: str = "", embeds: Sequence[Embed] = ()) -> str:
        """Open the DM channel with ``user_id`` and post the message there; return its id.

        A user who does not accept DMs from the bot: permanent, code ``50007`` (Cannot send messages
        to this user) - repeating it cannot help.
        """
        channel = self.open_dm_channel(user_id=user_id)
        return self.send_channel_message(channel_id=channel, content=content, embeds=embeds)

    # --- interactions ---------------------------------------------------------------------------

    def create_followup(
        self,
        *,
        application_id: str,
        interaction_token: str,
        content: str = "",
        embeds: Sequence[Embed] = (),
        ephemeral: bool = False,
        mention_user_ids: Sequence[str] = (),
    ) -> str:
        """Send a follow-up message to an interaction (valid 15 minutes); return its id."""
        body = message_payload(content=content, embeds=embeds, mention_user_ids=mention_user_ids)
        if ephemeral:
            body["flags"] = EPHEMERAL_FLAG
        data = self._call(
            "POST",
            self._interaction_path(application_id, interaction_token),
            label=f"sending an interaction follow-up for application {application_id}",
            json=body,
        )
        return _message_id(data)

    def edit_original_response(
        self,
        *,
        application_id: str,
        interaction_token: str,
        content: str = "",
        embeds: Sequence[Embed] = (),
        mention_user_ids: Sequence[str] = (),
    ) -> str:
        """Replace the deferred ("thinking...") response of an interaction; return the message id."""
        body = message_payload(content=content, embeds=embeds, mention_user_ids=mention_user_ids)
        data = self._call(
            "PATCH",
            self._interaction_path(application_id, interaction_token) + "/messages/@original",
            label=f"editing the original interaction response for application {application_id}",
            json=body,
        )
        return _message_id(data)

    def register_commands(
        self, *, application_id: str, commands: list[dict[str, Any]], guild_id: str | None = None
    ) -> list[RegisteredCommand]:
        """Bulk-overwrite the global (or one guild's) slash commands; commands not listed are deleted."""
        app = _snowflake(application_id, "application id")
        path = f"/applications/{app}/commands"
        if guild_id is not None:
            path = f"/applications/{app}/guilds/{_snowflake(guild_id, 'guild id')}/commands"
        data = self._call(
            "PUT",
            path,
            label=f"registering commands for application {app}",
            headers=self._bot_headers(),
            json=commands,
        )
        return [RegisteredCommand(id=str(_field(c, "id")), name=str(_field(c, "name"))) for c in _items(data)]

    # --- attachments ------------------------------------------------------------------------------

    def download_attachment(self, *, url: str, max_bytes: int, filename: str = "") -> Attachment:
        """Fetch a message attachment from Discord's CDN, at most ``max_bytes``, within the timeout.

        Only https URLs on cdn.discordapp.com / media.discordapp.net are fetched (others: permanent,
        code ``invalid_attachment_url``). A file over the cap is permanent, code ``too_large``, and
        is never read past the cap. The URL's signed query string is not put in any message.
        """
        target = _attachment_url(url)
        label = f"downloading attachment {urlsplit(target).path.rsplit('/', 1)[-1][:80]}"
        try:
            with self._session.get(
                target, headers={"User-Agent": USER_AGENT}, timeout=self._timeout_s, stream=True
            ) as response:
                if not response.ok:
                    raise IntegrationError(
                        f"Discord's CDN answered {response.status_code} while {label}",
                        permanent=response.status_code < 500 and response.status_code != 429,
                        code=f"http_{response.status_code}",
                    )
                content = _read_capped(response, max_bytes=max_bytes)
                content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        except requests.Timeout:
            raise IntegrationError(f"Discord timed out while {label}", permanent=False, code="timeout") from None
        except requests.RequestException as exc:
            raise IntegrationError(
                f"request to Discord failed while {label} ({type(exc).__name__})",
                permanent=False,
                code="transport_error",
            ) from None
        return Attachment(content=content, content_type=content_type, filename=filename, url=url)

    # --- OAuth2 (dashboard login) ---------------------------------------------------------------

    def exchange_code(self, *, client_id: str, client_secret: str, code: str, redirect_uri: str) -> TokenSet:
        """Trade an authorization code for tokens. A bad or reused code: permanent, code ``invalid_grant``."""
        data = self._call(
            "POST",
            "/oauth2/token",
            label="exchanging an OAuth code",
            auth=(client_id, client_secret),
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
        )
        return TokenSet(
            access_token=str(_field(data, "access_token")),
            token_type=str(_field(data, "token_type")),
            expires_in=int(_field(data, "expires_in")),
            refresh_token=str(data.get("refresh_token") or ""),
            scopes=tuple(str(data.get("scope") or "").split()),
        )

    def get_current_user(self, *, access_token: str) -> DiscordUser:
        """The user the access token belongs to. An expired token: permanent, code ``http_401``."""
        data = self._call("GET", "/users/@me", label="reading the current user", headers=_bearer(access_token))
        return DiscordUser(
            id=str(_field(data, "id")),
            username=str(_field(data, "username")),
            global_name=data.get("global_name"),
            avatar=data.get("avatar"),
        )

    def get_current_user_guilds(self, *, access_token: str) -> list[DiscordGuild]:
        """Every guild the user is in (pages of 200 followed), with their permissions there."""
        guilds: list[DiscordGuild] = []
        while True:
            params = {"limit": str(GUILDS_PAGE_SIZE), **({"after": guilds[-1].id} if guilds else {})}
            page = self._call(
                "GET",
                "/users/@me/guilds",
                label="reading the current user's guilds",
                headers=_bearer(access_token),
                params=params,
            )
            items = _items(page)
            guilds.extend(_guild(item) for item in items)
            if len(items) < GUILDS_PAGE_SIZE:
                return guilds

    # --- transport ------------------------------------------------------------------------------

    def close(self) -> None:
        self._session.close()

    def _bot_headers(self) -> dict[str, str]:
        if not self._bot_token:
            raise IntegrationError("DISCORD_BOT_TOKEN is not set", permanent=True, code="not_configured")
        return {"Authorization": f"Bot {self._bot_token}"}

    def _interaction_path(self, application_id: str, interaction_token: str) -> str:
        if not _TOKEN.match(interaction_token):
            raise IntegrationError("the interaction token is malformed", permanent=True, code="invalid_token")
        return f"/webhooks/{_snowflake(application_id, 'application id')}/{interaction_token}"

    def _call(self, method: str, path: str, *, label: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        """Send one request, waiting out 429s; return the decoded JSON (None for 204) or raise."""
        for attempt in range(self._max_retries + 1):
            response = self._send(method, path, label=label, headers=headers, **kwargs)
            if response.status_code != 429:
                return self._decoded(response, label)
            wait = _retry_after(response)
            if attempt == self._max_retries or wait > self._max_retry_sleep_s:
                raise IntegrationError(
                    f"Discord rate limit while {label}; retry after {wait:g}s",
                    permanent=False,
                    retry_after=wait,
                    code="rate_limited",
                )
            self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(
        self, method: str, path: str, *, label: str, headers: dict[str, str] | None, **kwargs: Any
    ) -> requests.Response:
        try:
            return self._session.request(
                method,
                self._api_base + path,
                headers={"User-Agent": USER_AGENT, **(headers or {})},
                timeout=self._timeout_s,
                **kwargs,
            )
        # "from None": the requests exception's text holds the URL, and with it webhook tokens.
        except requests.Timeout:
            raise IntegrationError(f"Discord timed out while {label}", permanent=False, code="timeout") from None
        except requests.ConnectionError:
            raise IntegrationError(
                f"could not connect to Discord while {label}", permanent=False, code="connection_error"
            ) from None
        except requests.RequestException as exc:
            raise IntegrationError(
                f"request to Discord failed while {label} ({type(exc).__name__})",
                permanent=False,
                code="transport_error",
            ) from None

    def _decoded(self, response: requests.Response, label: str) -> Any:
        if response.ok:
            if response.status_code == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                raise IntegrationError(
                    f"Discord answered {label} with something that is not JSON",
                    permanent=True,
                    code="bad_response",
                ) from None
        raise self._failure(response, label)

    def _failure(self, response: requests.Response, label: str) -> IntegrationError:
        status = response.status_code
        discord_code, reason = _error_details(response)
        message = self._scrub(f"Discord answered {status} while {label}" + (f": {reason}" if reason else ""))
        if discord_code in _GONE_CODES or status == 404:
            return DestinationGone(message, code=str(discord_code or f"http_{status}"))
        code = str(discord_code or _oauth_error(response) or f"http_{status}")
        return IntegrationError(message, permanent=status < 500, code=code)

    def _scrub(self, text: str) -> str:
        """Belt and braces: nothing Discord echoes back may carry a secret into our messages."""
        if self._bot_token:
            text = text.replace(self._bot_token, "***")
        return _WEBHOOK_URL_IN_TEXT.sub(lambda m: _redacted(m.group(1)), text)


def _read_capped(response: requests.Response, *, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise IntegrationError(f"the attachment is larger than {max_bytes} bytes", permanent=True, code="too_large")
    chunks: list[bytes] = []
    received = 0
    for chunk in response.iter_content(chunk_size=_DOWNLOAD_CHUNK):
        received += len(chunk)
        if received > max_bytes:
            raise IntegrationError(f"the attachment is larger than {max_bytes} bytes", permanent=True, code="too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def _bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def _snowflake(value: str, what: str) -> str:
    # Ids go into URL paths: anything but digits would let a bad row address another endpoint.
    if not _SNOWFLAKE.match(str(value)):
        # The value is not echoed: a misplaced webhook URL or token must not reach a log.
        raise DestinationGone(f"the configured Discord {what} is not a valid id", code="invalid_destination")
    return str(value)


def _attachment_url(url: str) -> str:
    """The URL to fetch, rebuilt from the one parse that checked the host (never the raw string).

    Parsers disagree on userinfo and backslashes (``https://127.0.0.1:1\\@cdn.discordapp.com/x`` is
    Discord's CDN to urlsplit and 127.0.0.1 to urllib3), so anything with userinfo, a backslash, a
    port other than 443 or control characters is refused outright, and what is fetched is rebuilt from
    the checked parts.
    """
    refused = IntegrationError(
        "attachments are only fetched from Discord's CDN", permanent=True, code="invalid_attachment_url"
    )
    raw = url or ""
    if "\\" in raw or any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in raw):
        raise refused
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise refused from None
    if parts.scheme != "https" or parts.hostname not in _ATTACHMENT_HOSTS:
        raise refused
    if parts.username is not None or parts.password is not None or "@" in parts.netloc or port not in (None, 443):
        raise refused
    return urlunsplit(("https", parts.hostname, parts.path, parts.query, ""))


def _parse_webhook_url(url: str) -> tuple[str, str, str | None] | None:
    """(webhook id, token, thread id) of a Discord webhook URL, or None if it is anything else."""
    try:
        parts = urlsplit(url.strip())
    except (ValueError, AttributeError):
        return None
    match = _WEBHOOK_PATH.match(parts.path)
    if parts.scheme != "https" or parts.hostname not in _WEBHOOK_HOSTS or not match:
        return None
    thread_ids = parse_qs(parts.query).get("thread_id", [])
    thread_id = thread_ids[0] if thread_ids and _SNOWFLAKE.match(thread_ids[0]) else None
    return match.group(1), match.group(2), thread_id


def _redacted(webhook_id: str) -> str:
    return f"https://discord.com/api/webhooks/{webhook_id}/***"


def _retry_after(response: requests.Response) -> float:
    """Seconds Discord asks us to wait: JSON ``retry_after`` (precise), else the Retry-After header."""
    try:
        body = response.json()
        seconds = float(body["retry_after"])
    except (ValueError, KeyError, TypeError):
        try:
            seconds = float(response.headers.get("Retry-After", _DEFAULT_RETRY_AFTER_S))
        except ValueError:
            seconds = _DEFAULT_RETRY_AFTER_S
    return max(seconds, 0.0)


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_details(response: requests.Response) -> tuple[int | None, str]:
    """Discord's JSON error code (None if absent) and its short human message."""
    body = _json_object(response)
    code = body.get("code")
    reason = body.get("message") or body.get("error_description") or body.get("error") or ""
    return (code if isinstance(code, int) else None), str(reason)[:200]


def _oauth_error(response: requests.Response) -> str:
    error = _json_object(response).get("error")
    return error if isinstance(error, str) else ""


def _items(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise IntegrationError(
            "Discord answered with something that is not a list", permanent=True, code="bad_response"
        )
    return data


def _field(data: Any, key: str) -> Any:
    if not isinstance(data, dict) or data.get(key) is None:
        raise IntegrationError(f"Discord's answer has no {key!r}", permanent=True, code="bad_response")
    return data[key]


def _message_id(data: Any) -> str:
    return str(_field(data, "id"))


def _guild(item: Any) -> DiscordGuild:
    try:
        permissions = int(_field(item, "permissions"))  # a string: the bitfield outgrows 53-bit JSON numbers
    except ValueError:
        raise IntegrationError(
            "Discord sent a guild permissions value that is not a number", permanent=True, code="bad_response"
        ) from None
    return DiscordGuild(
        id=str(_field(item, "id")),
        name=str(_field(item, "name")),
        icon=item.get("icon"),
        owner=bool(item.get("owner", False)),
        permissions=permissions,
    )


def discord_client(*, timeout_s: float | None = None, **options: Any) -> DiscordClient:
    """The Discord client configured from settings (bot token, DISCORD_HTTP_TIMEOUT_MS)."""
    return DiscordClient(
        bot_token=settings.DISCORD_BOT_TOKEN or None,
        timeout_s=timeout_s or settings.DISCORD_HTTP_TIMEOUT_MS / 1000,
        **options,
    )
