"""Server-rendered dashboard pages for guild admins.

Every guild page has ``guild_id`` in its URL, so GuildScopeMiddleware runs it inside that guild's
scope; ``guild_page`` then checks the logged-in user may open the guild (else 404) and, for changes,
that they are its owner or an administrator (else the 403 page). Numbers of views gained come from
metrics.selectors.leaderboard (see dashboard/selectors.py).
"""

from __future__ import annotations

import copy
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.api.ratelimit import rate_limited
from core.client_ip import client_ip
from core.snowflakes import parse_id
from core.tenancy import guild_scope
from dashboard import selectors
from dashboard.access import forbidden, guild_page
from dashboard.forms import (
    BonusRuleForm,
    BudgetForm,
    CampaignForm,
    ClientAccountForm,
    GuildSettingsForm,
    PeriodForm,
    PostFilterForm,
    ReviewForm,
    UnknownPeriod,
)
from dashboard_auth.auth import (
    clear_auth_cookies,
    dashboard_login_required,
    dashboard_user_from_request,
    guilds_for,
    set_auth_cookies,
)
from dashboard_auth.demo_login import demo_login_available, start_demo_session
from dashboard_auth.guild_access import RegistrationRefused, register_server, unregistered_guilds
from dashboard_auth.sessions import revoke_session
from earnings.brand_reports import (
    DEFAULT_EXPIRY_DAYS,
    MAX_EXPIRY_DAYS,
    LinkGone,
    LinkNotFound,
    LinkRefused,
    burn_series,
    campaign_links,
    campaign_report,
    create_link,
    resolve_link,
    revoke_link,
)
from earnings.models import Statement
from earnings.selectors import all_time_earnings, bonus_entries, campaign_burns, creators_money, to_cents
from earnings.services import (
    BULK_APPROVE_LIMIT,
    MoneyRefused,
    approve_statement,
    approve_statements,
    mark_statement_paid,
    pay_bonus,
    void_statement,
)
from guilds.bonus_rules import RULE_DEACTIVATED, BonusRuleRefused, delete_bonus_rule, save_bonus_rule
from guilds.budgets import BudgetRefused, update_budget_config
from guilds.guild_settings import GuildSettingsRefused, update_guild_settings
from guilds.models import BonusRule, Creator, DashboardAuditLog, Guild, GuildNotification
from integrations.bot.health import bot_status
from integrations.discord.notifier import destination_for
from metrics.models import BonusAward
from metrics.periods import period_bounds
from metrics.selectors import LeaderboardPage, leaderboard, leaderboard_creators
from metrics.selectors import leaderboard_page as read_leaderboard_page
from tracking.api import csv_response
from tracking.campaigns import CampaignRefused, save_campaign
from tracking.client_accounts import ClientAccountRefused, save_client_account
from tracking.models import Campaign, ClientAccount, FraudSignal, Post
from tracking.review import (
    BULK_LIMIT,
    ReviewRefused,
    allowed_actions,
    reasons_for,
    review_post,
    review_posts,
    review_queue,
    threshold_notes,
)

LOGIN_URL_NAMES = ("api-auth-login", "auth-discord-login", "discord-login")
LOGIN_URL_FALLBACK = "/api/v1/auth/discord/login"
POSTS_PER_PAGE = 25
AUDIT_PER_PAGE = 50
CREATORS_PER_PAGE = 50
LEADERBOARD_PER_PAGE = 50
LEADERBOARD_TOP_POSTS = 20


def login_url() -> str:
    """The "Login with Discord" URL the auth app defines (by name), or its documented path."""
    for name in LOGIN_URL_NAMES:
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return LOGIN_URL_FALLBACK


LOGIN_ERRORS = {
    "not_configured": "Login with Discord is not configured on this server yet.",
    "inactive_user": "This account cannot log in.",
}


@require_GET
def landing(request):
    """/: what the product is, and "Login with Discord" (or a link back to the dashboard)."""
    error = request.GET.get("login_error", "")
    context = {
        "login_url": login_url(),
        "logged_in": dashboard_user_from_request(request) is not None,
        "login_error": LOGIN_ERRORS.get(error, "Login with Discord did not complete; please try again.")
        if error
        else "",
        "demo_login": demo_login_available(request),
    }
    return render(request, "landing.html", context)


@require_POST
def demo_login(request):
    """DEBUG on this machine only: log in as the demo admin (dashboard_auth.demo_login). Elsewhere
    this page does not exist."""
    if not demo_login_available(request):
        raise Http404("No such page.")
    issued = start_demo_session(request)
    return set_auth_cookies(HttpResponseRedirect(reverse("dashboard:picker")), issued)


# Send Messages, Embed Links, Attach Files, Read Message History, Use Application Commands.
BOT_PERMISSIONS = (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 31)


def bot_install_url(guild_id: int | None = None) -> str:
    """Discord's "add the bot to a server" link, or "" when DISCORD_APPLICATION_ID is not set."""
    app_id = settings.DISCORD_APPLICATION_ID
    if not app_id:
        return ""
    query = {"client_id": app_id, "scope": "bot applications.commands", "permissions": str(BOT_PERMISSIONS)}
    if guild_id is not None:
        query.update(guild_id=str(guild_id), disable_guild_select="true")
    return f"https://discord.com/oauth2/authorize?{urlencode(query)}"


def _picker(request, *, error: str = "", status: int = 200):
    me = request.dashboard_user
    offered = unregistered_guilds(user_id=me.user_id)
    unregistered = [{**g, "install_url": bot_install_url(g["guild_id"])} for g in offered]
    context = {
        "guilds": guilds_for(me),
        "unregistered": unregistered,
        "install_url": bot_install_url(),
        "error": error,
    }
    return render(request, "dashboard/picker.html", context, status=status)


@require_GET
@dashboard_login_required
def guild_picker(request):
    """/dashboard/: the guilds this user manages, the servers they could register, the bot link."""
    return _picker(request)


@require_POST
@dashboard_login_required
def register_guild_page(request):
    """Register one of the servers the user owns or administers (listed on the picker)."""
    raw = request.POST.get("guild_id", "")
    guild_id = parse_id(raw)
    if guild_id is None:
        return _picker(request, error="Choose a server from the list to register it.", status=400)
    user = get_user_model().objects.filter(pk=request.dashboard_user.user_id).first()
    try:
        access = register_server(user=user, guild_id=guild_id, request=request)
    except RegistrationRefused as exc:
        return _picker(request, error=exc.message, status=403)
    messages.success(request, f"{access.name} is registered. Add the bot to it to use the slash commands.")
    return redirect("dashboard:overview", guild_id=access.guild_id)


@require_POST
@dashboard_login_required
def logout(request):
    """End this login (its whole refresh-token family) and go back to the landing page."""
    me = request.dashboard_user
    revoke_session(user_id=me.user_id, session_id=me.session_id, reason="logout")
    return clear_auth_cookies(HttpResponseRedirect(reverse("dashboard:landing")))


# --- overview ---------------------------------------------------------------------------------


@require_GET
@guild_page
def overview(request, guild_id: int):
    guild, now = request.guild, timezone.now()
    today, week, week_board = selectors.period_changes(guild=guild, now=now)
    series = selectors.daily_gains(guild=guild, now=now, today_gained=today.gained)
    context = {
        "today": today,
        "week": week,
        "top_posts": _titled(guild, week_board.posts),
        "top_creators": week_board.creators,
        "chart": {"days": [d for d, _ in series], "views": [v for _, v in series], "partial_last": True},
        "chart_total": sum(v for _, v in series),
        "budget": selectors.budget_summary(guild=guild, now=now),
        "freshness": selectors.freshness(guild=guild, now=now),
        "nav": "overview",
    }
    return render(request, "dashboard/overview.html", context)


# --- posts ------------------------------------------------------------------------------------


def _titled(guild, posts: list) -> list[tuple]:
    """(post gain, title) pairs: top posts read by their caption, not "Facebook · client" twice."""
    titles = selectors.post_titles(guild=guild, post_ids=[p.post_id for p in posts])
    return [(p, titles.get(p.post_id, "")) for p in posts]


SORT_COLUMNS = {"views": "Views", "likes": "Likes", "updated": "Updated", "submitted": "Submitted"}


@require_http_methods(["GET", "POST"])
@guild_page(admin_methods=())
def post_list(request, guild_id: int):
    """The posts table: filters, sortable columns (``?sort=`` views, likes, updated, submitted; "-" is
    descending), and bulk approve / reject of the flagged posts shown (all or none, like the review page)."""
    guild = request.guild
    status, error = 200, ""
    if request.method == "POST":
        status, error = _bulk_review(request, guild)
        if status == 200:
            return HttpResponseRedirect(request.get_full_path())
    creators = list(Creator.objects.for_guild(guild).only("pk", "username").order_by("username"))
    clients = list(ClientAccount.objects.for_guild(guild).only("pk", "name").order_by("name"))
    form = PostFilterForm(request.GET, creators=creators, clients=clients)
    filters = form.filters()
    posts = selectors.search_posts(guild=guild, **filters)
    page = Paginator(posts, POSTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "sorts": _sort_links(request, filters["sort"]),
        "any_flagged": any(p.status == Post.Status.FLAGGED for p in page.object_list),
        "error": error,
        "bulk_limit": BULK_LIMIT,
        "nav": "posts",
    }
    return render(request, "dashboard/posts.html", context, status=status)


def _sort_links(request, current: str, columns: dict[str, str] = SORT_COLUMNS, default: str = "submitted"):
    """Per sortable column: its link (same filters; a second click reverses) and its arrow."""
    links = {}
    for key, label in columns.items():
        query = request.GET.copy()
        query.pop("page", None)
        on = current.lstrip("-") == key or (not current and key == default)
        desc = on and (current.startswith("-") or not current)
        query["sort"] = key if desc else f"-{key}"
        arrow = ("↓" if desc else "↑") if on else ""
        links[key] = {"label": label, "url": f"?{query.urlencode()}", "arrow": arrow, "on": on, "desc": desc}
    return links


def _bulk_review(request, guild) -> tuple[int, str]:
    """Approve or reject the chosen posts through tracking.review (all or none). (status, error)."""
    ids = [parse_id(v) for v in request.POST.getlist("post")]
    action, reason = request.POST.get("action", ""), request.POST.get("reason", "")
    if None in ids:
        return 400, "Choose flagged posts from the list."
    try:
        done = review_posts(
            guild_id=guild.pk,
            post_ids=ids,
            action=action,
            reason=reason,
            actor=request.dashboard_user.actor,
            request=request,
        )
    except ReviewRefused as refused:
        return (409 if refused.code == "transition_refused" else 400), refused.message
    verb = "approved" if action == "approve" else "rejected"
    messages.success(request, f"{len(done)} post{'s' if len(done) != 1 else ''} {verb}.")
    return 200, ""


@require_http_methods(["GET", "POST"])
@guild_page(admin_methods=())
def review_page(request, guild_id: int):
    """The review queue: every post waiting for a decision with its reasons; approve or reject many
    at once (all or none). MANAGE_GUILD may review, like the post page."""
    guild = request.guild
    status, error = 200, ""
    if request.method == "POST":
        status, error = _bulk_review(request, guild)
        if not error:
            return redirect("dashboard:review", guild_id=guild.pk)
    page = Paginator(review_queue(guild.pk), POSTS_PER_PAGE).get_page(request.GET.get("page"))
    posts = list(page.object_list)
    reasons = reasons_for(guild, posts)  # the Guild: its thresholds need no query
    context = {
        "page": page,
        "rows": [(p, reasons[p.pk]) for p in posts],
        "error": error,
        "bulk_limit": BULK_LIMIT,
        "query": "",
        "nav": "review",
    }
    return render(request, "dashboard/review.html", context, status=status)


def _post_or_404(guild, post_id: int) -> Post:
    return get_object_or_404(
        Post.objects.for_guild(guild).select_related("creator", "client_account", "profile"), pk=post_id
    )


@require_GET
@guild_page
def post_detail(request, guild_id: int, post_id: int):
    return _render_post(request, _post_or_404(request.guild, post_id), ReviewForm())


def _render_post(request, post: Post, form: ReviewForm, status: int = 200):
    guild = request.guild
    series = selectors.post_series(post=post)
    signals = list(FraudSignal.objects.for_guild(guild).filter(post=post).order_by("-detected_at", "-pk"))
    if any(s.resolved_at is None for s in signals):
        notes = threshold_notes(guild)  # an open flag is shown against the guild's thresholds
        for s in signals:
            s.threshold_note = notes.get(s.kind, "") if s.resolved_at is None else ""
    context = {
        "post": post,
        "form": form,
        "chart": {
            "t": [t for t, _, _ in series],
            "views": [v for _, v, _ in series],
            "likes": [lk for _, _, lk in series],
        },
        "snapshot_count": len(series),
        "history": list(post.status_changes.filter(guild_id=guild.pk).order_by("-created_at", "-pk")),
        "signals": signals,
        "waiting_reasons": (
            reasons_for(guild.pk, [post], signals=False)[post.pk] if post.status == Post.Status.FLAGGED else []
        ),
        "actions": allowed_actions(post),
        "nav": "posts",
    }
    return render(request, "dashboard/post_detail.html", context, status=status)


@require_http_methods(["GET", "POST"])
@guild_page
def post_review(request, guild_id: int, post_id: int):
    """Approve, reject or flag a post (tracking.review.review_post writes the history and audit).
    A GET (a reloaded or bookmarked form) goes back to the post's page."""
    post = _post_or_404(request.guild, post_id)
    if request.method == "GET":
        return redirect("dashboard:post-detail", guild_id=guild_id, post_id=post.pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return _render_post(request, post, form, status=400)
    action, reason = form.cleaned_data["action"], form.cleaned_data["reason"]
    try:
        review_post(post=post, action=action, reason=reason, actor=request.dashboard_user.actor, request=request)
    except ReviewRefused as refused:
        form.add_error(None, str(refused))
        return _render_post(request, post, form, status=400)
    done = {"approve": "approved", "reject": "rejected", "flag": "flagged for review"}[action]
    messages.success(request, f"Post {done}.")
    return redirect("dashboard:post-detail", guild_id=guild_id, post_id=post.pk)


# --- creators, leaderboard --------------------------------------------------------------------


@require_GET
@guild_page
def creator_list(request, guild_id: int):
    guild, now = request.guild, timezone.now()
    page = Paginator(selectors.creators_with_totals(guild=guild), CREATORS_PER_PAGE).get_page(request.GET.get("page"))
    start, end = period_bounds(period="week", now=now, tz=guild.tz)
    week = {c.creator_id: c for c in leaderboard_creators(guild=guild, start=start, end=end)}
    profiles = selectors.profiles_by_creator(guild=guild, creator_ids=[c.pk for c in page])
    rows = [(c, week.get(c.pk), profiles.get(c.pk, [])) for c in page]
    return render(request, "dashboard/creators.html", {"page": page, "rows": rows, "nav": "creators"})


def _period(request):
    period = PeriodForm(request.GET or None).chosen()
    return (period, *period_bounds(period=period, now=timezone.now(), tz=request.guild.tz))


def _board(request):
    period, start, end = _period(request)
    return period, leaderboard(guild=request.guild, start=start, end=end)


class _CreatorPages:
    """The leaderboard's creators as the Paginator sees them: ``count()`` and a slice, each read with
    ``metrics.selectors.leaderboard_page`` (the creators' page, the top posts, the totals in one statement), so that the
    page is never built from the whole guild. The page first read is the one asked for (a number the
    Paginator would not take reads page 1); only a page the Paginator moves (past the end, below 1)
    costs a second read. ``board`` is the last page read."""

    def __init__(self, guild, start, end, asked):
        self.guild, self.start, self.end = guild, start, end
        self.board = self._read(self._guess(asked))

    @staticmethod
    def _guess(asked) -> int:
        try:
            number = int(asked)
        except (TypeError, ValueError):
            return 1
        return max(number, 1)

    def _read(self, number: int) -> LeaderboardPage:
        self.number = number
        return read_leaderboard_page(
            guild=self.guild,
            start=self.start,
            end=self.end,
            page=number,
            page_size=LEADERBOARD_PER_PAGE,
            posts_page=1,
            posts_page_size=LEADERBOARD_TOP_POSTS,
        )

    def count(self) -> int:
        return self.board.creators_count

    def __getitem__(self, part: slice) -> list:
        number = part.start // LEADERBOARD_PER_PAGE + 1
        if number != self.number:
            self.board = self._read(number)
        return self.board.creators


def _local_iso(moment, tz) -> str:
    """The guild's zone, to the second: start and end of a CSV read alike."""
    return moment.astimezone(tz).replace(microsecond=0).isoformat()


def _bad_period(request, error: UnknownPeriod):
    back = f"{request.path}?{urlencode({'period': 'week'})}"
    return render(request, "dashboard/400.html", {"message": str(error), "back": back}, status=400)


@require_GET
@guild_page
def leaderboard_page(request, guild_id: int):
    """One page of creators (LEADERBOARD_PER_PAGE, best first) and the top LEADERBOARD_TOP_POSTS
    posts, read as one page of the leaderboard summed and sorted in SQL (never the whole guild's rows);
    the counts and the total are over every post."""
    try:
        period, start, end = _period(request)
    except UnknownPeriod as error:
        return _bad_period(request, error)
    asked = request.GET.get("page")
    creators = _CreatorPages(request.guild, start, end, asked)
    page = Paginator(creators, LEADERBOARD_PER_PAGE).get_page(asked)
    board = creators.board
    context = {
        "period": period,
        "periods": selectors.PERIODS,
        "board": board,
        "page": page,
        "query": urlencode({"period": period}),
        "top_posts": _titled(request.guild, board.posts),
        "nav": "leaderboard",
    }
    return render(request, "dashboard/leaderboard.html", context)


LEADERBOARD_CSV_HEADER = ["rank", "creator", "discord_user_id", "posts", "views_gained", "period_start", "period_end"]


@require_GET
@guild_page
def leaderboard_csv(request, guild_id: int):
    """The leaderboard as CSV, from the same selector as the page, streamed (formula-safe cells)."""
    try:
        period, board = _board(request)
    except UnknownPeriod as error:
        return _bad_period(request, error)
    start, end = (_local_iso(t, request.guild.tz) for t in (board.start, board.end))
    rows = [(c.rank, c.creator_name, c.discord_user_id, c.posts, c.views_gained, start, end) for c in board.creators]
    return csv_response(f"leaderboard-{guild_id}-{period}-{board.start:%Y%m%d}.csv", LEADERBOARD_CSV_HEADER, rows)


# --- client accounts, bonus rules, guild settings -----------------------------------------------
# Every change goes through the service the REST API uses (same rules, messages and audit); these
# views only collect the form, show the service's refusal, or redirect with a message.


def _who(request) -> dict:
    """The acting dashboard user, as the services take it."""
    identity = request.dashboard_user
    return {"actor": identity.actor, "actor_user": identity.user, "request": request}


@require_GET
@guild_page
def client_list(request, guild_id: int):
    clients = list(selectors.client_accounts_with_counts(guild=request.guild))
    return render(request, "dashboard/clients.html", {"clients": clients, "nav": "clients"})


@require_http_methods(["GET", "POST"])
@guild_page(admin=True, admin_methods=("GET", "POST"))
def client_edit(request, guild_id: int, account_id: int | None = None):
    """Create (no ``account_id``) or change a client account (owner or ADMINISTRATOR)."""
    account = None
    if account_id is not None:
        account = get_object_or_404(ClientAccount.objects.for_guild(request.guild), pk=account_id)
    form = ClientAccountForm(request.POST or None, account=account)
    if request.method == "POST" and form.is_valid():
        try:
            saved = save_client_account(guild_id=guild_id, account=account, data=form.changes(), **_who(request))
        except ClientAccountRefused as refused:
            form.show_refusal(refused)
        else:
            messages.success(request, f"Client account {saved.name} {'saved' if account else 'created'}.")
            return redirect("dashboard:clients", guild_id=guild_id)
    context = {"form": form, "account": account, "nav": "clients"}
    return render(request, "dashboard/client_form.html", context, status=400 if form.errors else 200)


@require_GET
@guild_page
def bonus_rules(request, guild_id: int):
    guild = request.guild
    rules = list(BonusRule.objects.for_guild(guild).order_by("-active", "kind", "place", "-min_views_gained"))
    awards = list(
        BonusAward.objects.for_guild(guild).select_related("creator", "rule").order_by("-week_start", "place")[:50]
    )
    states = _announcement_states(guild, {a.week_start for a in awards if a.announced_at})
    for award in awards:
        award.announcement = states.get(award.week_start, ("waiting", "not announced yet"))
    return render(request, "dashboard/bonus_rules.html", {"rules": rules, "awards": awards, "nav": "bonus"})


def _announcement_states(guild, weeks: set) -> dict:
    """Per week: (state, detail) of its bonus announcement — "Announced" only when Discord took it."""
    if not weeks:
        return {}
    keys = {f"bonus:{w:%Y-%m-%d}:": w for w in weeks}
    states: dict = {}
    rows = GuildNotification.objects.for_guild(guild).filter(kind="bonus").order_by("created_at")
    for note in rows.only("event_key", "status", "last_error", "sent_at", "channel"):
        week = keys.get(note.event_key[:17])
        if week is None:
            continue
        state = _notification_state(guild, note)
        if states.get(week, ("Announced",))[0] == "Announced":  # the worst state of the week wins
            states[week] = state
    return states


def _notification_state(guild, note) -> tuple[str, str]:
    if note.status == GuildNotification.Status.SENT:
        return ("Announced", f"{note.sent_at:%b %-d}" if note.sent_at else "")
    if note.status == GuildNotification.Status.DROPPED:
        return ("not sent", "no Discord destination")
    if note.status == GuildNotification.Status.FAILED:
        return ("not sent", note.last_error or "Discord refused it")
    if not destination_for(guild, note.channel):
        return ("waiting", "no Discord destination: set an updates channel in Settings")
    return ("waiting", "queued, not sent yet")


def _rule_or_404(guild, rule_id: int) -> BonusRule:
    return get_object_or_404(BonusRule.objects.for_guild(guild), pk=rule_id)


@require_http_methods(["GET", "POST"])
@guild_page(admin=True, admin_methods=("GET", "POST"))
def bonus_rule_edit(request, guild_id: int, rule_id: int | None = None):
    """Create (no ``rule_id``) or change a bonus rule (owner or ADMINISTRATOR)."""
    rule = _rule_or_404(request.guild, rule_id) if rule_id is not None else None
    form = BonusRuleForm(request.POST or None, rule=rule)
    if request.method == "POST" and form.is_valid():
        try:
            saved = save_bonus_rule(guild_id=guild_id, rule=rule, data=form.changes(), **_who(request))
        except BonusRuleRefused as refused:
            form.show_refusal(refused)
        else:
            messages.success(request, f"Bonus rule {saved.name} {'saved' if rule else 'created'}.")
            return redirect("dashboard:bonus-rules", guild_id=guild_id)
    context = {"form": form, "rule": rule, "nav": "bonus"}
    return render(request, "dashboard/bonus_rule_form.html", context, status=400 if form.errors else 200)


@require_POST
@guild_page(admin=True)
def bonus_rule_delete(request, guild_id: int, rule_id: int):
    """Delete a bonus rule; one with awards is deactivated instead, and the message says so."""
    rule = _rule_or_404(request.guild, rule_id)
    if delete_bonus_rule(guild_id=guild_id, rule=rule, **_who(request)) == "deleted":
        messages.success(request, f"Bonus rule {rule.name} deleted.")
    else:
        messages.warning(request, f"Bonus rule {rule.name}: {RULE_DEACTIVATED}")
    return redirect("dashboard:bonus-rules", guild_id=guild_id)


@require_http_methods(["GET", "POST"])
@guild_page(admin=True)
def guild_settings(request, guild_id: int):
    """Channels, webhooks (shown masked), time zone and report hour, and whether the Discord bot is
    online (from its heartbeat). Managers see them read-only."""
    guild = request.guild
    form = GuildSettingsForm(request.POST or None, guild=guild)
    if request.method == "POST" and form.is_valid():
        try:
            changed = update_guild_settings(guild=guild, changes=form.changes(), **_who(request))
        except GuildSettingsRefused as refused:
            form.show_refusal(refused)
        else:
            messages.success(request, "Settings saved." if changed else "Nothing changed.")
            return redirect("dashboard:settings", guild_id=guild_id)
    if not request.guild_access.can_admin:
        form.disable()
    context = {"form": form, "nav": "settings", "bot": bot_status()}
    return render(request, "dashboard/settings.html", context, status=400 if form.errors else 200)


# --- budget settings ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@guild_page(admin=True)
def budget_settings(request, guild_id: int):
    """Budgets and refresh cadence (GuildBudgetConfig). Changing them needs owner or ADMINISTRATOR;
    every change is audited with before/after."""
    guild, now = request.guild, timezone.now()
    budget = selectors.guild_budget(guild)
    # A ModelForm writes cleaned values onto its instance while validating: give it a copy, so the
    # service still sees the stored values and audits a true before/after.
    form = BudgetForm(request.POST or None, instance=copy.copy(budget))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            changes = {name: form.cleaned_data[name] for name in form.Meta.fields}
            try:
                who = request.dashboard_user
                changed = update_budget_config(
                    budget=budget, changes=changes, actor=who.actor, actor_user=who.user, request=request
                )
            except BudgetRefused as refused:  # the form checks the same rules; kept for safety
                for name, message in refused.fields.items():
                    form.add_error(name if name in form.fields else None, message)
            else:
                messages.success(request, "Budget saved." if changed else "Nothing changed.")
                return redirect("dashboard:budget", guild_id=guild_id)
        status = 400
    if not request.guild_access.can_admin:
        for field in form.fields.values():
            field.disabled = True
    context = {
        "form": form,
        "summary": selectors.budget_summary(guild=guild, now=now),
        "usage": selectors.recent_usage(guild=guild, now=now),
        "nav": "budget",
    }
    return render(request, "dashboard/budget.html", context, status=status)


# --- audit log ----------------------------------------------------------------------------------


@require_GET
@guild_page
def audit_log(request, guild_id: int):
    entries = DashboardAuditLog.objects.filter(guild_id=request.guild.pk).order_by("-created_at", "-pk")
    page = Paginator(entries, AUDIT_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "dashboard/audit.html", {"page": page, "nav": "audit"})


# --- money: campaigns' budget burn and the payout queue ---------------------------------------------

STATEMENT_ACTIONS = ("approve", "pay", "void")


@require_GET
@guild_page
def money(request, guild_id: int):
    """Each campaign's burn (spent, pending, held, remaining, days left) and the payout queue."""
    return _render_money(request, guild_id)


def _render_money(request, guild_id: int, *, error: str = "", chosen: frozenset[int] = frozenset(), status=200):
    now = timezone.now()
    campaigns = list(
        Campaign.objects.for_guild(request.guild).select_related("client_account").order_by("-starts_at", "pk")
    )
    by_id = campaign_burns(guild_id=guild_id, campaigns=campaigns, at=now)
    burns = [(c, by_id[c.pk]) for c in campaigns]
    queue = (
        Statement.objects.for_guild(request.guild)
        .filter(status__in=(Statement.Status.PENDING, Statement.Status.APPROVED))
        .select_related("creator", "campaign")
        .order_by("status", "-period_end", "creator__username")
    )
    bonuses = [bonus for bonus, _payment in bonus_entries(guild_id=guild_id, paid=False)]
    context = {
        "burns": burns,
        "queue": queue,
        "bonuses": bonuses,
        "error": error,
        "chosen": chosen,
        "bulk_limit": BULK_APPROVE_LIMIT,
        "nav": "money",
    }
    return render(request, "dashboard/money.html", context, status=status)


@require_POST
@guild_page(admin=True)
def statements_approve(request, guild_id: int):
    """Approve the chosen pending statements (earnings.services.approve_statements: all or none, each
    audited and its creator told). A refusal shows the Money page again with the reason, the same
    boxes ticked, and the status of the refusal (400, 404 or 409); nothing changed."""
    ids = [parse_id(v) for v in request.POST.getlist("statement")]
    if None in ids:
        return _render_money(request, guild_id, error="Choose pending statements from the list.", status=400)
    try:
        done = approve_statements(
            guild_id=guild_id, statement_ids=ids, actor=request.dashboard_user.actor, request=request
        )
    except MoneyRefused as refused:
        return _render_money(request, guild_id, error=refused.message, chosen=frozenset(ids), status=refused.status)
    messages.success(request, f"{len(done)} statement{'s' if len(done) != 1 else ''} approved.")
    return redirect("dashboard:money", guild_id=guild_id)


MONEY_SORTS = {
    "creator": "Creator",
    "earned": "Earned",
    "held": "Held",
    "bonuses": "Bonuses",
    "approved": "Pending payment",
    "paid": "Paid",
    "to_pay": "To pay",
}
MONEY_CREATORS_PER_PAGE = 50


@require_GET
@guild_page
def money_creators(request, guild_id: int):
    """Earnings per creator: earned (payable), held, weekly bonuses, pending payment (approved
    statements), paid and to pay, per currency — earnings.selectors.creators_money, the numbers of
    /stats and of GET …/creators/{id}/money. Sorted by ``?sort=`` (a column; "-" is descending;
    amounts in several currencies are added only to order the rows), paginated."""
    sort = request.GET.get("sort", "-earned")
    if sort.lstrip("-") not in MONEY_SORTS:
        sort = "-earned"
    key = sort.lstrip("-")
    rows = creators_money(guild_id=guild_id, at=timezone.now())
    if key == "creator":
        rows.sort(key=lambda r: (r.username.lower(), r.creator_id), reverse=sort.startswith("-"))
    else:  # rows come ordered by name; a stable sort keeps that order among equal amounts
        rows.sort(key=lambda r: r.total(key), reverse=sort.startswith("-"))
    page = Paginator(rows, MONEY_CREATORS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "query": query.urlencode(),
        "sorts": _sort_links(request, sort, MONEY_SORTS, "earned"),
        "nav": "money",
    }
    return render(request, "dashboard/money_creators.html", context)


@require_GET
@guild_page
def money_creator(request, guild_id: int, creator_id: int):
    """One creator's money: the totals of the creators page, their posts with payable views and
    amounts (all time, from the earnings selector), their statements and their weekly bonuses."""
    creator = get_object_or_404(Creator.objects.for_guild(request.guild), pk=creator_id)
    result = all_time_earnings(guild_id=guild_id, at=timezone.now())
    totals = creators_money(guild_id=guild_id, at=result.end, creator_ids=[creator.pk], result=result)
    earned = next((c for c in result.creators if c.creator_id == creator.pk), None)
    posts = earned.posts if earned else []
    titles = selectors.post_titles(guild=request.guild, post_ids=[p.post_id for p in posts])
    statements = (
        Statement.objects.for_guild(request.guild)
        .filter(creator=creator)
        .select_related("campaign")
        .order_by("-period_end", "-pk")
    )
    campaigns = dict(Campaign.objects.for_guild(request.guild).values_list("pk", "name"))
    context = {
        "creator": creator,
        "money": totals[0].money if totals else [],
        "posts": [(p, titles.get(p.post_id, ""), campaigns.get(p.campaign_id, ""), to_cents(p.amount)) for p in posts],
        "statements": list(statements),
        "bonuses": bonus_entries(guild_id=guild_id, creator_id=creator.pk),
        "nav": "money",
    }
    return render(request, "dashboard/money_creator.html", context)


@require_POST
@guild_page(admin=True)
def bonus_pay(request, guild_id: int, entry_id: int):
    """Mark one weekly bonus paid with the payment's reference (one payment entry; audited)."""
    who = _who(request)
    try:
        pay_bonus(
            guild_id=guild_id,
            entry_id=entry_id,
            reference=request.POST.get("reference", ""),
            actor=who["actor"],
            request=request,
        )
    except MoneyRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"Bonus {entry_id} marked paid.")
    return redirect("dashboard:money", guild_id=guild_id)


@require_POST
@guild_page(admin=True)
def statement_action(request, guild_id: int, statement_id: int, verb: str):
    """Approve, mark paid (with a reference) or void (with a reason) one statement; audited."""
    who = _who(request)
    moves = {
        "approve": lambda: approve_statement(guild_id=guild_id, statement_id=statement_id, actor=who["actor"],
                                             request=request),
        "pay": lambda: mark_statement_paid(guild_id=guild_id, statement_id=statement_id, actor=who["actor"],
                                           reference=request.POST.get("reference", ""), request=request),
        "void": lambda: void_statement(guild_id=guild_id, statement_id=statement_id, actor=who["actor"],
                                       reason=request.POST.get("reason", ""), request=request),
    }  # fmt: skip
    if verb not in moves:
        return forbidden(request, "Unknown action.")
    try:
        statement = moves[verb]()
    except MoneyRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"Statement {statement.pk} for {statement.creator.username}: {statement.status}.")
    return redirect("dashboard:money", guild_id=guild_id)


# --- one campaign: burn over time, effective CPM, top posts, brand report links ----------------------


def _campaign_or_404(guild, campaign_id: int) -> Campaign:
    return get_object_or_404(Campaign.objects.for_guild(guild).select_related("client_account"), pk=campaign_id)


def _render_campaign(request, campaign: Campaign, *, issued=None, link_error: str = "", status: int = 200):
    guild, now = request.guild, timezone.now()
    report = campaign_report(guild_id=guild.pk, campaign=campaign, at=now)
    series = burn_series(guild_id=guild.pk, campaign=campaign, at=now, tz=guild.tz)
    context = {
        "campaign": campaign,
        "report": report,
        "burn": report.burn,
        "chart": {
            "days": [p.day.isoformat() for p in series],
            "used": [str(p.used) for p in series],
            "budget": None if campaign.total_budget is None else str(campaign.total_budget),
            "currency": campaign.currency,
        },
        "links": [(link, link.state(now)) for link in campaign_links(guild_id=guild.pk, campaign_id=campaign.pk)],
        "issued": issued,
        "link_error": link_error,
        "default_days": DEFAULT_EXPIRY_DAYS,
        "max_days": MAX_EXPIRY_DAYS,
        "nav": "money",
    }
    return render(request, "dashboard/campaign.html", context, status=status)


@require_http_methods(["GET", "POST"])
@guild_page(admin=True, admin_methods=("GET", "POST"))
def campaign_edit(request, guild_id: int, campaign_id: int | None = None):
    """Set a campaign's brief: create (no ``campaign_id``) or change one (owner or ADMINISTRATOR;
    audited by save_campaign as campaign.create / campaign.update)."""
    campaign = None
    if campaign_id is not None:
        campaign = get_object_or_404(Campaign.objects.for_guild(request.guild), pk=campaign_id)
    form = CampaignForm(request.POST or None, guild=request.guild, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        try:
            saved = save_campaign(guild_id=guild_id, campaign=campaign, data=form.changes(), **_who(request))
        except CampaignRefused as refused:
            form.show_refusal(refused)
        else:
            messages.success(request, f"Campaign {saved.name} {'saved' if campaign else 'created'}.")
            return redirect("dashboard:campaign", guild_id=guild_id, campaign_id=saved.pk)
    context = {"form": form, "campaign": campaign, "nav": "money"}
    return render(request, "dashboard/campaign_form.html", context, status=400 if form.errors else 200)


@require_GET
@guild_page
def campaign_page(request, guild_id: int, campaign_id: int):
    """A campaign's burn (tiles and a chart of money used per day), effective CPM, top posts and its
    brand report links. Numbers from earnings.brand_reports (the same as the API and the brand's page)."""
    return _render_campaign(request, _campaign_or_404(request.guild, campaign_id))


@require_POST
@guild_page(admin=True)
def brand_link_create(request, guild_id: int, campaign_id: int):
    """Make a brand report link (audited) and show its URL once, on the page this answers with."""
    campaign = _campaign_or_404(request.guild, campaign_id)
    raw = request.POST.get("expires_in_days", "").strip() or str(DEFAULT_EXPIRY_DAYS)
    days = int(raw) if raw.isdigit() and len(raw) <= 4 else -1
    try:
        issued = create_link(guild_id=guild_id, campaign=campaign, expires_in_days=days, **_link_actor(request))
    except LinkRefused as refused:
        return _render_campaign(request, campaign, link_error=refused.message, status=400)
    return _render_campaign(request, campaign, issued=issued)


@require_POST
@guild_page(admin=True)
def brand_link_revoke(request, guild_id: int, campaign_id: int, link_id: int):
    """Revoke a brand report link (audited): from now on it shows the brand a "revoked" page."""
    campaign = _campaign_or_404(request.guild, campaign_id)
    try:
        revoke_link(guild_id=guild_id, link_id=link_id, campaign_id=campaign.pk, **_link_actor(request))
    except LinkRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, "Report link revoked: it no longer opens.")
    return redirect("dashboard:campaign", guild_id=guild_id, campaign_id=campaign.pk)


def _link_actor(request) -> dict:
    who = request.dashboard_user
    return {"actor": who.actor, "actor_user": who.user, "request": request}


# --- the brand's report: public, read-only, behind a signed link ------------------------------------

MAX_TOKEN_LENGTH = 200


@require_GET
def brand_report(request, token: str):
    """The read-only report a brand opens from its link: no login, no admin links, no creator payout
    details. Rate-limited per address; never indexed, never sent as a referrer, never cached. A
    forged or unknown link is a 404, an expired or revoked one a 410 saying so; neither changes
    anything. The token is resolved under a logged bypass, then everything is read in the link's
    guild scope, for the link's campaign only."""
    wait = rate_limited(
        request,
        group="brand-report",
        key=f"ip:{client_ip(request) or 'unknown'}",
        rate=settings.RATE_LIMIT_BRAND_REPORT,
    )
    if wait is not None:
        response = _link_closed(request, 429, "Too many requests", f"Too many requests; try again in {wait} seconds.")
        response["Retry-After"] = str(wait)
    elif len(token) > MAX_TOKEN_LENGTH:
        response = _link_not_found(request)
    else:
        response = _open_report(request, token)
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response


def _open_report(request, token: str):
    try:
        link = resolve_link(token)
    except LinkNotFound:
        return _link_not_found(request)
    except LinkGone as gone:
        return _link_closed(request, 410, "This report link no longer opens", gone.message)
    with guild_scope(link.guild_id):
        campaign = Campaign.objects.for_guild(link.guild_id).select_related("client_account").get(pk=link.campaign_id)
        report = campaign_report(guild_id=link.guild_id, campaign=campaign, at=timezone.now())
        with timezone.override(Guild.objects.get(pk=link.guild_id).tz):
            return render(
                request, "dashboard/brand_report.html", {"campaign": campaign, "report": report, "link": link}
            )


def _link_not_found(request):
    message = "There is no report at this address. Check that the whole link was copied."
    return _link_closed(request, 404, "Report not found", message)


def _link_closed(request, status: int, title: str, message: str):
    return render(request, "dashboard/brand_report_closed.html", {"title": title, "message": message}, status=status)
