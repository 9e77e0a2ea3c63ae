"""A campaign's numbers as its brand and its admins read them, and the brand's report links.

**The report** (``campaign_report``) is built from the earnings selector only, so the brand's page,
the dashboard's campaign page, the API and the Money page agree to the cent:

* ``burn`` is ``campaign_burn`` (what the Money page shows);
* ``spend`` = ``burn.spent + burn.pending``: the money earned by payable posts (finalized or still
  accruing). Held (flagged) posts are not counted until a reviewer releases them — their views are
  not counted either;
* ``views`` = the payable views of those same posts over the campaign's life (``earnings()`` from the
  beginning to now: views inside each post's counting window, less its first snapshot when the
  campaign's baseline is "gained");
* ``effective_cpm`` = spend / views × 1000, in Decimal, rounded half-up to cents (``to_cents``);
  None when no view counts yet. Caps, minimums and the budget make it lower than the brief's rate;
* ``top_posts``: the posts with the most counted views (then the most money), with the caption's
  first words, the platform, views and the post's money after its creator's cap.

**Links** (``create_link`` / ``revoke_link`` / ``resolve_link``). A link's token is
``<key_id>.<secret>.<signature>``: ``key_id`` (16 hex) finds the row, ``secret`` (32 random bytes,
URL-safe) is stored only as its SHA-256 and compared in constant time, and the signature (HMAC of
the two with SECRET_KEY, salted) lets a forged or mistyped token be refused before any database
read. Rotating SECRET_KEY without keeping the old one in SECRET_KEY_FALLBACKS ends every link.
A link expires (1 to ``MAX_EXPIRY_DAYS`` days after it is made) and can be revoked; creating and
revoking are audited (``brand_link.create`` / ``brand_link.revoke``). Resolving a token runs under a
logged ``rls_bypass`` for that one row (the request has no guild yet); everything after it runs in
the link's guild scope and reads only the link's campaign.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from core.tenancy import guild_scope, rls_bypass
from core.values import post_title
from earnings.models import BrandReportLink
from earnings.selectors import Burn, campaign_burn, earnings, to_cents
from guilds.audit import record_audit
from guilds.models import Guild
from tracking.models import Campaign, Post
from tracking.platforms import registry

DEFAULT_EXPIRY_DAYS = 30
MAX_EXPIRY_DAYS = 180
TOP_POSTS = 10
MAX_SERIES_DAYS = 92
BEGINNING = datetime(2000, 1, 1, tzinfo=UTC)
_SALT = "earnings.brand-report-link"
_SEP = "."


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TopPost:
    post_id: int
    platform: str
    platform_label: str
    title: str
    url: str
    views: int
    amount: Decimal


@dataclass(frozen=True)
class CampaignReport:
    campaign: Campaign
    at: datetime
    burn: Burn
    views: int
    spend: Decimal
    effective_cpm: Decimal | None
    top_posts: list[TopPost]

    @property
    def currency(self) -> str:
        return self.campaign.currency


def effective_cpm(spend: Decimal, views: int) -> Decimal | None:
    """spend / views × 1000, half-up to cents; None without views."""
    if views <= 0:
        return None
    return to_cents(spend * 1000 / Decimal(views))


def campaign_report(*, guild_id: int, campaign: Campaign, at: datetime, top: int = TOP_POSTS) -> CampaignReport:
    """The campaign's burn, counted views, spend, effective CPM and top posts as of ``at``."""
    burn = campaign_burn(guild_id=guild_id, campaign=campaign, at=at)
    result = earnings(guild_id=guild_id, start=BEGINNING, end=at, campaign_id=campaign.pk)
    payable = [p for c in result.creators for p in c.posts if not p.held]
    views = sum(p.views_payable for p in payable)
    spend = burn.spent + burn.pending
    ranked = sorted(payable, key=lambda p: (-p.views_payable, -(p.amount - p.creator_cap_cut), p.post_id))[:top]
    return CampaignReport(
        campaign=campaign,
        at=at,
        burn=burn,
        views=views,
        spend=spend,
        effective_cpm=effective_cpm(spend, views),
        top_posts=_top_posts(guild_id, ranked),
    )


def _top_posts(guild_id: int, ranked: list) -> list[TopPost]:
    rows = {
        pk: (caption, handle)
        for pk, caption, handle in Post.objects.for_guild(guild_id)
        .filter(pk__in=[p.post_id for p in ranked])
        .values_list("pk", "caption", "author_handle")
    }
    posts = []
    for p in ranked:
        label = registry.get(p.platform).label if registry.is_registered(p.platform) else p.platform
        caption, handle = rows.get(p.post_id, ("", ""))
        posts.append(
            TopPost(
                post_id=p.post_id,
                platform=p.platform,
                platform_label=label,
                title=post_title(caption=caption, author_handle=handle, platform_label=label),
                url=p.url,
                views=p.views_payable,
                amount=to_cents(p.amount - p.creator_cap_cut),
            )
        )
    return posts


@dataclass(frozen=True)
class BurnPoint:
    """The campaign's burn at the end of one local day (the last point: now)."""

    day: date
    spent: Decimal
    pending: Decimal
    held: Decimal

    @property
    def used(self) -> Decimal:
        return self.spent + self.pending + self.held


def burn_series(*, guild_id: int, campaign: Campaign, at: datetime, tz) -> list[BurnPoint]:
    """Cumulative money used per local day, from the campaign's start (at most the last
    ``MAX_SERIES_DAYS`` days) to today; each point is ``campaign_burn`` at that day's end (today: now).
    One query per day."""
    if campaign.starts_at > at:
        return []
    first = max(
        timezone.localtime(campaign.starts_at, tz).date(),
        timezone.localtime(at, tz).date() - timedelta(days=MAX_SERIES_DAYS - 1),
    )
    today = timezone.localtime(at, tz).date()
    points = []
    day = first
    while day <= today:
        end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
        burn = campaign_burn(guild_id=guild_id, campaign=campaign, at=min(end, at))
        points.append(BurnPoint(day, burn.spent, burn.pending, burn.held))
        day += timedelta(days=1)
    return points


# ---------------------------------------------------------------------------------------------
# Links
# ---------------------------------------------------------------------------------------------


class LinkRefused(ValueError):
    """A link cannot be made or revoked as asked (message for the admin)."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


class LinkNotFound(LookupError):
    """No link has this token (forged, mistyped, or its guild is gone): a plain 404."""


class LinkGone(LookupError):
    """The link existed but no longer opens: expired or revoked (410, with the message)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class IssuedLink:
    link: BrandReportLink
    token: str

    @property
    def path(self) -> str:
        return report_path(self.token)

    @property
    def url(self) -> str:
        return settings.PUBLIC_BASE_URL + self.path


def report_path(token: str) -> str:
    return f"/brand-report/{token}/"


def _signer() -> signing.Signer:
    return signing.Signer(salt=_SALT, sep=_SEP)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _token(key_id: str, secret: str) -> str:
    return _signer().sign(f"{key_id}{_SEP}{secret}")


def create_link(
    *,
    guild_id: int,
    campaign: Campaign,
    expires_in_days: int = DEFAULT_EXPIRY_DAYS,
    actor: str,
    actor_user=None,
    request=None,
    now: datetime | None = None,
) -> IssuedLink:
    """A new link to ``campaign``'s report, expiring ``expires_in_days`` (1 to MAX_EXPIRY_DAYS) from
    now; audited. The returned token is the only time the link can be read: it is not stored."""
    if not isinstance(expires_in_days, int) or not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise LinkRefused(
            f"A link lasts from 1 to {MAX_EXPIRY_DAYS} days; choose a number in that range.", field="expires_in_days"
        )
    return _issue(
        guild_id=guild_id,
        campaign=campaign,
        key_id=secrets.token_hex(8),
        secret=secrets.token_urlsafe(32),
        expires_at=(now or timezone.now()) + timedelta(days=expires_in_days),
        actor=actor,
        actor_user=actor_user,
        request=request,
    )


def _issue(*, guild_id, campaign, key_id, secret, expires_at, actor, actor_user=None, request=None) -> IssuedLink:
    with transaction.atomic():
        link = BrandReportLink.objects.create(
            guild_id=guild_id,
            campaign=campaign,
            key_id=key_id,
            secret_hash=_digest(secret),
            created_by=actor[:120],
            expires_at=expires_at,
        )
        record_audit(
            guild_id=guild_id,
            actor=actor,
            actor_user=actor_user,
            action="brand_link.create",
            target_type="brand_report_link",
            target_id=link.pk,
            after={"campaign_id": campaign.pk, "expires_at": expires_at.isoformat()},
            request=request,
        )
    return IssuedLink(link, _token(key_id, secret))


def revoke_link(
    *,
    guild_id: int,
    link_id: int,
    actor: str,
    campaign_id: int | None = None,
    actor_user=None,
    request=None,
    now: datetime | None = None,
) -> BrandReportLink:
    """Revoke one of the guild's links (of ``campaign_id`` when given; audited). Revoking a revoked
    link changes nothing and says so (409)."""
    now = now or timezone.now()
    with transaction.atomic():
        links = BrandReportLink.objects.for_guild(guild_id).select_for_update().filter(pk=link_id)
        if campaign_id is not None:
            links = links.filter(campaign_id=campaign_id)
        link = links.first()
        if link is None:
            raise LinkRefused("No such report link for this campaign.", status=404)
        if link.revoked_at is not None:
            raise LinkRefused("This report link was already revoked.", status=409)
        link.revoked_at, link.revoked_by = now, actor[:120]
        link.save(update_fields=["revoked_at", "revoked_by"])
        record_audit(
            guild_id=guild_id,
            actor=actor,
            actor_user=actor_user,
            action="brand_link.revoke",
            target_type="brand_report_link",
            target_id=link.pk,
            before={"state": "expired" if link.expires_at <= now else "active"},
            after={"state": "revoked", "campaign_id": link.campaign_id},
            request=request,
        )
    return link


def campaign_links(*, guild_id: int, campaign_id: int) -> list[BrandReportLink]:
    return list(
        BrandReportLink.objects.for_guild(guild_id).filter(campaign_id=campaign_id).order_by("-created_at", "-pk")
    )


def resolve_link(token: str, *, now: datetime | None = None) -> BrandReportLink:
    """The live link a token opens. Raises LinkNotFound (bad signature, unknown key, wrong secret,
    guild gone) or LinkGone (revoked, expired). Reads one row under a logged bypass; nothing is written."""
    now = now or timezone.now()
    try:
        value = _signer().unsign(token)
    except signing.BadSignature:
        raise LinkNotFound() from None
    key_id, _, secret = value.partition(_SEP)
    if not key_id or not secret:
        raise LinkNotFound()
    with rls_bypass(reason="brand report link lookup"):
        link = BrandReportLink.objects.filter(key_id=key_id).first()
    if link is None or not hmac.compare_digest(link.secret_hash.encode(), _digest(secret).encode()):
        raise LinkNotFound()
    with guild_scope(link.guild_id):
        if not Guild.objects.filter(pk=link.guild_id, active=True).exists():
            raise LinkNotFound()
    if link.revoked_at is not None:
        raise LinkGone("This report link was revoked. Ask the team that sent it for a new one.")
    if link.expires_at <= now:
        raise LinkGone(
            f"This report link expired on {link.expires_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC. "
            "Ask the team that sent it for a new one."
        )
    return link


def demo_link(*, guild_id: int, campaign: Campaign, now: datetime, actor: str) -> IssuedLink:
    """The demo guild's brand link, the same URL on every run (its secret is derived from SECRET_KEY,
    so it is not public): made once and kept valid for DEFAULT_EXPIRY_DAYS. A revoked one stays
    revoked; the next run makes the next one."""
    for generation in range(1000):
        seed = hmac.new(
            settings.SECRET_KEY.encode(), f"demo brand link {campaign.pk} {generation}".encode(), hashlib.sha256
        ).hexdigest()
        key_id, secret = seed[:16], seed[16:]
        link = BrandReportLink.objects.for_guild(guild_id).filter(key_id=key_id).first()
        if link is None:
            expires_at = now + timedelta(days=DEFAULT_EXPIRY_DAYS)
            return _issue(
                guild_id=guild_id, campaign=campaign, key_id=key_id, secret=secret, expires_at=expires_at, actor=actor
            )
        if link.revoked_at is not None:
            continue
        if link.expires_at <= now + timedelta(days=1):
            link.expires_at = now + timedelta(days=DEFAULT_EXPIRY_DAYS)
            link.save(update_fields=["expires_at"])
        return IssuedLink(link, _token(key_id, secret))
    raise LinkRefused("Too many revoked demo links; reset the demo database.")
