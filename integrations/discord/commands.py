"""Slash commands: their definitions (for registration) and what each one does.

The interactions view verifies the signature and calls ``respond`` (application commands) or
``autocomplete``. Everything runs inside ``guild_scope(interaction guild_id)``; the creator is
upserted from ``member.user``. Quick commands (/link, /stats, /leaderboard) answer at once; slow ones
(/verify starts a scraper run, /submit downloads a screenshot and checks the caption) answer with a
deferred response and finish in ``complete_deferred`` (a task), which edits that response.

Private answers are ephemeral (flag 64); /leaderboard is posted for the channel to see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from core.snowflakes import parse_id
from core.tenancy import guild_scope
from earnings.payout_methods import PayoutMethodRefused, set_payout_method
from earnings.selectors import creator_money
from guilds.members import upsert_creator
from guilds.models import Creator, Guild
from integrations.discord.client import DiscordClient, discord_client
from integrations.discord.messages import EPHEMERAL_FLAG, Embed, message_payload
from integrations.errors import IntegrationError
from integrations.verification import VerificationUnavailable, request_verification
from metrics.periods import PERIODS, period_bounds
from metrics.selectors import leaderboard, leaderboard_page
from tracking.models import Campaign, ClientAccount, Post, Profile
from tracking.platforms import registry
from tracking.screenshots import UploadedScreenshot
from tracking.submission import submit_post
from tracking.submission_errors import SubmissionRefused
from tracking.verification import ProfileRefused, link_profile

log = structlog.get_logger(__name__)

# Interaction and response types (Discord API).
PING, APPLICATION_COMMAND, AUTOCOMPLETE = 1, 2, 4
PONG, CHANNEL_MESSAGE, DEFERRED_MESSAGE, AUTOCOMPLETE_RESULT = 1, 4, 5, 8
STRING, ATTACHMENT = 3, 11
AUTOCOMPLETE_CHOICES = 25

NOT_SET_UP = "This server is not set up with Tracking Data yet. Ask an admin to add it in the dashboard."
NOT_IN_GUILD = "Use Tracking Data commands in a server, not in direct messages."
FAILED = "Something went wrong on our side; nothing was changed. Please try again in a minute."

_PLATFORM_CHOICES = registry.live_list(lambda spec: {"name": spec.label, "value": spec.key})


def _option(name: str, description: str, *, type_: int = STRING, required: bool = True, **extra) -> dict[str, Any]:
    return {"type": type_, "name": name, "description": description, "required": required, **extra}


COMMANDS: list[dict[str, Any]] = [
    {
        "name": "link",
        "description": "Link one of your social accounts and get the code that proves it is yours",
        "options": [
            _option("platform", "Where the account is", choices=_PLATFORM_CHOICES),
            _option("handle", "Your handle or profile link, e.g. @maya", max_length=200),
        ],
    },
    {
        "name": "verify",
        "description": "Check that your verification code is in your profile bio",
        "options": [_option("platform", "The platform of the linked account", choices=_PLATFORM_CHOICES)],
    },
    {
        "name": "submit",
        "description": "Submit a post for tracking",
        "options": [
            _option("url", "The post's link", max_length=2048),
            _option("client", "The brand the post promotes", autocomplete=True, max_length=100),
            _option("screenshot", "Optional screenshot (proof of views)", type_=ATTACHMENT, required=False),
            _option("campaign", "The campaign (default: the brand's active one)", required=False, max_length=100),
        ],
    },
    {"name": "stats", "description": "Your posts and the views they gained", "options": []},
    {
        "name": "payout",
        "description": "Where you want to be paid (stored encrypted; shown masked)",
        "options": [
            _option(
                "method",
                "How you are paid",
                choices=[{"name": "PayPal email", "value": "paypal"}, {"name": "Wallet address", "value": "wallet"}],
            ),
            _option("address", "Your PayPal email or wallet address", max_length=200),
        ],
    },
    {
        "name": "leaderboard",
        "description": "The server's top creators by views gained",
        "options": [
            _option(
                "period",
                "Which period (default: this week)",
                required=False,
                choices=[{"name": label, "value": value} for value, label in PERIODS.items()],
            ),
        ],
    },
]


@dataclass(frozen=True)
class Interaction:
    """The parts of an interaction payload we use. JSON-safe via ``as_dict`` (for tasks)."""

    application_id: str
    token: str
    type: int
    guild_id: int | None
    user_id: str
    username: str
    name: str
    options: dict[str, Any] = field(default_factory=dict)
    focused: str = ""
    attachments: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Interaction:
        """Raises ``ValueError`` for a payload that is not a well-formed interaction."""
        if not isinstance(data, dict):
            raise ValueError("the interaction must be a JSON object")
        command = data.get("data") if isinstance(data.get("data"), dict) else {}
        user = (data.get("member") or {}).get("user") or data.get("user") or {}
        options, focused = {}, ""
        for opt in command.get("options") or []:
            if isinstance(opt, dict) and "name" in opt:
                options[str(opt["name"])] = opt.get("value")
                focused = str(opt["name"]) if opt.get("focused") else focused
        raw_guild = data.get("guild_id")
        kind = data.get("type")
        if isinstance(kind, bool) or not isinstance(kind, int):
            raise ValueError("the interaction type must be a whole number")
        return cls(
            application_id=str(data.get("application_id") or ""),
            token=str(data.get("token") or ""),
            type=kind,
            guild_id=parse_id(str(raw_guild)) if raw_guild else None,
            user_id=str(user.get("id") or ""),
            username=str(user.get("global_name") or user.get("username") or "")[:100],
            name=str(command.get("name") or ""),
            options=options,
            focused=focused,
            attachments=(command.get("resolved") or {}).get("attachments") or {},
        )

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def text(self, name: str) -> str:
        value = self.options.get(name)
        return str(value).strip() if value is not None else ""


@dataclass(frozen=True)
class Reply:
    """A command's answer: text and/or embeds, private unless ``public``."""

    content: str = ""
    embeds: tuple[Embed, ...] = ()
    public: bool = False

    def response(self) -> dict[str, Any]:
        data = message_payload(content=self.content, embeds=self.embeds)
        if not self.public:
            data["flags"] = EPHEMERAL_FLAG
        return {"type": CHANNEL_MESSAGE, "data": data}


@dataclass(frozen=True)
class Outcome:
    """What the view answers now, and the deferred work (an interaction dict) to run afterwards."""

    response: dict[str, Any]
    deferred: dict[str, Any] | None = None


# --- entry points -------------------------------------------------------------------------------


def respond(interaction: Interaction) -> Outcome:
    """The immediate answer to an application command (type 2)."""
    if interaction.guild_id is None or not interaction.user_id:
        return Outcome(Reply(NOT_IN_GUILD).response())
    if interaction.name in DEFERRED:
        if not _guild_known(interaction.guild_id):
            return Outcome(Reply(NOT_SET_UP).response())
        return Outcome({"type": DEFERRED_MESSAGE, "data": {"flags": EPHEMERAL_FLAG}}, deferred=interaction.as_dict())
    handler = IMMEDIATE.get(interaction.name)
    if handler is None:
        return Outcome(Reply(f"Unknown command /{interaction.name[:32]}.").response())
    return Outcome(_run(interaction, handler).response())


def complete_deferred(payload: dict[str, Any], *, client: DiscordClient | None = None) -> None:
    """Run a deferred command and replace the "thinking…" response with its answer. Never raises."""
    interaction = Interaction(**payload)
    reply = _deferred_reply(interaction)

    try:
        (client or discord_client()).edit_original_response(
            application_id=interaction.application_id,
            interaction_token=interaction.token,
            content=reply.content,
            embeds=reply.embeds,
        )
    except IntegrationError as error:  # the token lives 15 minutes; nothing else to do but log
        log.warning("interaction_followup_failed", command=interaction.name, error=error.message)


def _deferred_reply(interaction: Interaction) -> Reply:
    if interaction.name != "submit":
        return _run(interaction, DEFERRED[interaction.name])

    try:  # downloaded before any transaction opens: no lock is held while Discord's CDN answers
        screenshot = _screenshot(interaction)
    except SubmissionRefused as refused:
        return Reply(refused.message)
    except Exception:
        log.exception("screenshot_download_failed")
        return Reply(FAILED)
    return _run(interaction, submit, screenshot=screenshot)


def autocomplete(interaction: Interaction) -> dict[str, Any]:
    """Choices for the focused option (only /submit's client has autocomplete)."""
    choices: list[dict[str, str]] = []
    if interaction.guild_id is not None and interaction.name == "submit" and interaction.focused == "client":
        typed = interaction.text("client")
        with guild_scope(interaction.guild_id):
            accounts = ClientAccount.objects.for_guild(interaction.guild_id).filter(active=True)
            if typed:
                accounts = accounts.filter(name__icontains=typed)
            choices = [
                {"name": a.name[:100], "value": str(a.pk)} for a in accounts.order_by("name")[:AUTOCOMPLETE_CHOICES]
            ]
    return {"type": AUTOCOMPLETE_RESULT, "data": {"choices": choices}}


Handler = Callable[..., "Reply | Callable[[], Reply]"]


def _run(interaction: Interaction, handler: Handler, **extra: Any) -> Reply:
    """Run ``handler`` in the guild's scope. A handler may return a callable instead of a Reply: the
    part that calls a vendor, run after the scope's transaction is closed."""
    try:
        with guild_scope(interaction.guild_id):
            guild = Guild.objects.filter(pk=interaction.guild_id, active=True).first()
            if guild is None:
                return Reply(NOT_SET_UP)
            creator, _ = upsert_creator(
                guild_id=guild.pk,
                discord_user_id=interaction.user_id,
                username=interaction.username,
                actor=f"discord:{interaction.user_id}",
            )
            result = handler(interaction, guild, creator, **extra)
        return result() if callable(result) else result
    except Exception:
        log.exception("slash_command_failed", command=interaction.name, guild_id=interaction.guild_id)
        return Reply(FAILED)


def _guild_known(guild_id: int) -> bool:
    with guild_scope(guild_id):
        return Guild.objects.filter(pk=guild_id, active=True).exists()


# --- quick commands -------------------------------------------------------------------------------


def link(interaction: Interaction, guild: Guild, creator: Creator) -> Reply:

    try:
        profile = link_profile(
            guild_id=guild.pk, creator=creator, platform=interaction.text("platform"), handle=interaction.text("handle")
        )
    except ProfileRefused as refused:
        return Reply(refused.message)
    label = profile.get_platform_display()
    if profile.is_verified:
        return Reply(f"@{profile.handle} on {label} is already linked and verified. You can /submit its posts.")
    expires = profile.verification_code_expires_at
    when = f" It expires <t:{int(expires.timestamp())}:R>." if expires else ""
    return Reply(
        f"Linked @{profile.handle} on {label}. To prove it is yours, put this code anywhere in that "
        f"profile's bio:\n\n**{profile.verification_code}**\n\nthen run `/verify platform:{profile.platform}`."
        f"{when} You can remove the code once you are verified."
    )


def stats(interaction: Interaction, guild: Guild, creator: Creator) -> Reply:
    now = timezone.now()
    counts = Post.objects.for_guild(guild).filter(creator=creator).values_list("status", flat=True)
    statuses: dict[str, int] = {}
    for status in counts:
        statuses[status] = statuses.get(status, 0) + 1
    week = _gained(guild, creator, "week", now)
    total = _gained(guild, creator, "all", now)
    breakdown = ", ".join(f"{n} {Post.Status(s).label.lower()}" for s, n in sorted(statuses.items())) or "none yet"
    fields = [
        ("Posts", f"{sum(statuses.values())} ({breakdown})", False),
        ("Views gained this week", f"{week:,}", True),
        ("Views gained in all", f"{total:,}", True),
    ]
    attention = _needs_attention(guild, creator)
    embed = Embed(
        title=f"Stats for {creator.username}",
        description=f"**Needs your attention**\n{attention}" if attention else "",
        fields=[*fields, *_money_fields(guild, creator, now)],
        footer=f"Weeks start on Monday ({guild.timezone})",
    )
    return Reply(embeds=(embed,))


ATTENTION_LIMIT = 5


def _needs_attention(guild: Guild, creator: Creator) -> str:
    """The creator's flagged and rejected posts with their reasons (at most 5, then how many more)."""
    posts = (
        Post.objects.for_guild(guild)
        .filter(creator=creator, status__in=[Post.Status.FLAGGED, Post.Status.REJECTED])
        .order_by("-submitted_at", "-pk")
    )
    shown = list(posts[:ATTENTION_LIMIT])
    if not shown:
        return ""
    lines = [
        f"{p.get_platform_display()} {p.canonical_url} — {p.get_status_display().lower()}: "
        f"{(p.status_reason or 'no reason given')[:300]}"
        for p in shown
    ]
    rest = posts.count() - len(shown) if len(shown) == ATTENTION_LIMIT else 0
    if rest:
        lines.append(f"…and {rest} more.")
    return "\n".join(lines)


def payout(interaction: Interaction, guild: Guild, creator: Creator) -> Reply:
    """Store the creator's payout method; the answer (private) shows it masked, never in full."""
    try:
        method = set_payout_method(
            guild_id=guild.pk, creator=creator, kind=interaction.text("method"), address=interaction.text("address")
        )
    except PayoutMethodRefused as refused:
        return Reply(str(refused))
    return Reply(f"Saved. You will be paid by {method.get_kind_display()}: {method.masked}")


def _money_fields(guild: Guild, creator: Creator, now: datetime) -> list[tuple[str, str, bool]]:
    """Earned, held, weekly bonuses (when any), paid and still to be paid, per currency (from the
    earnings selector)."""
    fields = []
    for m in creator_money(guild_id=guild.pk, creator_id=creator.pk, at=now):
        bonuses = f" · bonuses {m.bonuses}" if m.bonuses else ""
        text = f"Earned {m.earned} · held {m.held}{bonuses} · paid {m.paid} · to be paid {m.to_pay}"
        fields.append((f"Money ({m.currency})", text, False))
    return fields


def _gained(guild: Guild, creator: Creator, period: str, now: datetime) -> int:
    start, end = period_bounds(period=period, now=now, tz=guild.tz)
    return leaderboard(guild=guild, start=start, end=end, creator_id=creator.pk).total_views_gained


def show_leaderboard(interaction: Interaction, guild: Guild, creator: Creator) -> Reply:
    period = interaction.text("period") or "week"
    if period not in PERIODS:
        return Reply(f"Unknown period {period[:20]!r}; use one of {', '.join(PERIODS)}.")
    start, end = period_bounds(period=period, now=timezone.now(), tz=guild.tz)
    board = leaderboard_page(guild=guild, start=start, end=end, page=1, page_size=10, posts_page_size=0)
    top = [c for c in board.creators if c.views_gained > 0]
    lines = [f"**{c.rank}.** {c.creator_name} — {c.views_gained:,} views ({c.posts} posts)" for c in top]
    embed = Embed(
        title=f"Leaderboard — {PERIODS[period]}",
        description="\n".join(lines) or "No views gained in this period yet.",
        footer=f"Views gained · {guild.timezone}",
    )
    return Reply(embeds=(embed,), public=True)


# --- slow commands (deferred) ---------------------------------------------------------------------


def verify(interaction: Interaction, guild: Guild, creator: Creator) -> Reply | Callable[[], Reply]:
    platform = interaction.text("platform").lower()
    if not registry.is_registered(platform):
        return Reply(f"{platform[:20]!r} is not a platform we track; use one of {', '.join(registry.keys())}.")
    profile = (
        Profile.objects.for_guild(guild).filter(creator=creator, platform=platform).order_by("-created_at").first()
    )
    if profile is None:
        return Reply(f"You have no {registry.get(platform).label} account linked. Run `/link` first.")
    if profile.is_verified:
        return Reply(f"@{profile.handle} on {profile.get_platform_display()} is already verified.")

    profile_id, who = profile.pk, f"@{profile.handle} on {profile.get_platform_display()}"

    def start_check() -> Reply:
        # Starting the check calls Apify or YouTube: done after this scope's transaction closes.
        try:
            status = request_verification(profile_id=profile_id)
        except (ProfileRefused, VerificationUnavailable) as refused:
            return Reply(refused.message)
        return Reply(_verification_message(status, who=who, guild_id=guild.pk, profile_id=profile_id))

    return start_check


def _verification_message(status: str, *, who: str, guild_id: int, profile_id: int) -> str:
    if status == Profile.Verification.VERIFIED:
        return f"{who} is verified. You can now /submit its posts."
    if status == Profile.Verification.PENDING:
        return (
            f"Checking {who}'s bio for your code now. This takes a minute or two; the result is posted in "
            "the server's logs channel, and `/stats` or `/verify` again will tell you too."
        )
    with guild_scope(guild_id):
        reason = Profile.objects.for_guild(guild_id).filter(pk=profile_id).values_list("verification_reason", flat=True)
        why = next(iter(reason), "") or "the check could not be completed"
    return f"{who} could not be verified: {why}"


def submit(interaction: Interaction, guild: Guild, creator: Creator, *, screenshot=None) -> Reply:

    account = find_client_account(guild=guild, typed=interaction.text("client"))
    if account is None:
        return Reply(f"No client account {interaction.text('client')[:100]!r} in this server; pick one from the list.")
    campaign_id = None
    if interaction.text("campaign"):
        campaign_id = find_campaign_id(account=account, typed=interaction.text("campaign"))
        if campaign_id is None:
            return Reply(f"{account.name} has no campaign {interaction.text('campaign')[:100]!r}.")
    try:
        result = submit_post(
            guild_id=guild.pk,
            creator=creator,
            url=interaction.text("url"),
            client_account_id=account.pk,
            campaign_id=campaign_id,
            screenshot=screenshot,
            actor=f"discord:{creator.discord_user_id}",
        )
    except SubmissionRefused as refused:
        return Reply(refused.message)
    post = result.post
    head = "Submitted" if result.created else "Already submitted (by you)"
    notes = "".join(f"\n• {note}" for note in result.notes)
    status = post.get_status_display()
    return Reply(f"{head}: {post.canonical_url} for {account.name}. Status: {status}.{notes}")


def find_client_account(*, guild: Guild, typed: str) -> ClientAccount | None:
    """The guild's active client account by id (an autocomplete choice) or by name (typed by hand)."""
    if not typed:
        return None
    accounts = ClientAccount.objects.for_guild(guild)
    query = Q(name__iexact=typed) | (Q(pk=int(typed)) if typed.isdigit() and len(typed) < 19 else Q())
    return accounts.filter(query).order_by("-active", "pk").first() if query else None


def find_campaign_id(*, account: ClientAccount, typed: str) -> int | None:
    """One of the account's campaigns by id or by name (case-insensitive), or None."""
    campaigns = Campaign.objects.for_guild(account.guild_id).filter(client_account=account)
    query = Q(name__iexact=typed) | (Q(pk=int(typed)) if typed.isdigit() and len(typed) < 19 else Q())
    return campaigns.filter(query).order_by("pk").values_list("pk", flat=True).first()


def _screenshot(interaction: Interaction):
    """Download the attached screenshot (size cap, timeout). Raises SubmissionRefused when unusable."""

    attachment_id = interaction.text("screenshot")
    if not attachment_id:
        return None
    meta = interaction.attachments.get(attachment_id) or {}
    limit = settings.SCREENSHOT_MAX_BYTES
    if int(meta.get("size") or 0) > limit:
        raise SubmissionRefused(
            "screenshot_too_large", f"The screenshot is over {limit // (1024 * 1024)} MB.", field="screenshot"
        )

    try:
        file = discord_client().download_attachment(
            url=str(meta.get("url") or ""), max_bytes=limit, filename=str(meta.get("filename") or "")
        )
    except IntegrationError as error:
        if error.code == "too_large":
            raise SubmissionRefused(
                "screenshot_too_large", f"The screenshot is over {limit // (1024 * 1024)} MB.", field="screenshot"
            ) from None
        raise SubmissionRefused(
            "screenshot_unavailable", "We could not download the screenshot; please try again.", field="screenshot"
        ) from None
    return UploadedScreenshot(
        data=file.content, content_type=file.content_type, filename=file.filename, discord_url=file.url
    )


IMMEDIATE: dict[str, Handler] = {"link": link, "stats": stats, "leaderboard": show_leaderboard, "payout": payout}
DEFERRED: dict[str, Handler] = {"verify": verify, "submit": submit}
