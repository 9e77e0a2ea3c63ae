"""The REST API (included at /api/): auth, the guild API, the bot API, the OpenAPI schema and docs.

Ids in paths use the ``id`` converter (core.snowflakes: 1 to 2^63 - 1, so 19-digit Discord ids
match): anything else, or a value that would overflow PostgreSQL's bigint (and with it the
row-level-security cast), simply does not match → 404.
"""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from core.snowflakes import IdConverter
from dashboard_auth import api as auth_api
from earnings import api as earnings_api
from guilds import api as guilds_api
from metrics import api as metrics_api
from tracking import api as tracking_api
from tracking import review_api

router = SimpleRouter(trailing_slash=False)
router.register("creators", guilds_api.CreatorViewSet, basename="creator")
router.register("usage", guilds_api.UsageViewSet, basename="usage")
router.register("bonus-rules", guilds_api.BonusRuleViewSet, basename="bonus-rule")
router.register("audit-log", guilds_api.AuditLogViewSet, basename="audit-log")
router.register("client-accounts", tracking_api.ClientAccountViewSet, basename="client-account")
router.register("profiles", tracking_api.ProfileViewSet, basename="profile")
router.register("posts", tracking_api.PostViewSet, basename="post")
router.register("campaigns", earnings_api.CampaignViewSet, basename="campaign")
router.register("statements", earnings_api.StatementViewSet, basename="statement")
# The router's own lookup regex is \d+; tighten it to the id converter's (ids past 2^63 - 1 still
# match 19 digits here and are refused by the views' lookup as not found).
for viewset in (
    guilds_api.CreatorViewSet,
    guilds_api.BonusRuleViewSet,
    tracking_api.ClientAccountViewSet,
    tracking_api.ProfileViewSet,
    tracking_api.PostViewSet,
    earnings_api.CampaignViewSet,
    earnings_api.StatementViewSet,
):
    viewset.lookup_value_regex = IdConverter.regex

auth_patterns = [
    path("discord/login", auth_api.discord_login, name="api-auth-login"),
    path("discord/callback", auth_api.discord_callback, name="api-auth-callback"),
    path("refresh", auth_api.RefreshView.as_view(), name="api-auth-refresh"),
    path("logout", auth_api.LogoutView.as_view(), name="api-auth-logout"),
    path("me", auth_api.MeView.as_view(), name="api-auth-me"),
    path("sessions", auth_api.SessionListView.as_view(), name="api-auth-sessions"),
    path("sessions/<id:session_id>", auth_api.SessionDetailView.as_view(), name="api-auth-session"),
]

guild_patterns = [
    path("", guilds_api.GuildSettingsView.as_view(), name="api-guild"),
    path("budget", guilds_api.BudgetView.as_view(), name="api-guild-budget"),
    path("leaderboard", metrics_api.LeaderboardView.as_view(), name="api-guild-leaderboard"),
    path("exports/leaderboard.csv", metrics_api.LeaderboardExportView.as_view(), name="api-guild-leaderboard-csv"),
    path("exports/posts.csv", tracking_api.PostsExportView.as_view(), name="api-guild-posts-csv"),
    path("review-queue", review_api.ReviewQueueView.as_view(), name="api-review-queue"),
    path("posts/review", review_api.BulkReviewView.as_view(), name="api-posts-bulk-review"),
    path("earnings", earnings_api.EarningsView.as_view(), name="api-guild-earnings"),
    path("exports/earnings.csv", earnings_api.EarningsExportView.as_view(), name="api-guild-earnings-csv"),
    path("exports/payouts.csv", earnings_api.PayoutExportView.as_view(), name="api-guild-payouts-csv"),
    path("exports/payouts.xlsx", earnings_api.PayoutXLSXExportView.as_view(), name="api-guild-payouts-xlsx"),
    path("posts/<id:post_id>/reopen", earnings_api.ReopenPostView.as_view(), name="api-post-reopen"),
    path("bonuses", earnings_api.BonusesView.as_view(), name="api-guild-bonuses"),
    path("creators/<id:creator_id>/money", earnings_api.CreatorMoneyView.as_view(), name="api-creator-money"),
    path("bonuses/<id:entry_id>/pay", earnings_api.PayBonusView.as_view(), name="api-guild-bonus-pay"),
    path("posts/<id:post_id>/series", metrics_api.PostSeriesViewSet.as_view({"get": "list"}), name="api-post-series"),
    path("", include(router.urls)),
]

bot_patterns = [
    path("heartbeat", guilds_api.BotHeartbeatView.as_view(), name="api-bot-heartbeat"),
    path("guilds/<id:guild_id>", guilds_api.BotGuildView.as_view(), name="api-bot-guild"),
    path("guilds/<id:guild_id>/creators", guilds_api.BotCreatorView.as_view(), name="api-bot-creators"),
    path(
        "guilds/<id:guild_id>/creators/<snowflake:discord_user_id>/stats",
        metrics_api.BotCreatorStatsView.as_view(),
        name="api-bot-creator-stats",
    ),
    path("guilds/<id:guild_id>/profiles", tracking_api.BotProfileView.as_view(), name="api-bot-profiles"),
    path("guilds/<id:guild_id>/posts", tracking_api.BotPostView.as_view(), name="api-bot-posts"),
    path("guilds/<id:guild_id>/leaderboard", metrics_api.BotLeaderboardView.as_view(), name="api-bot-leaderboard"),
]

urlpatterns = [
    path("v1/auth/", include(auth_patterns)),
    path("v1/guilds", guilds_api.GuildListView.as_view(), name="api-guilds"),
    path("v1/guilds/<id:guild_id>/", include(guild_patterns)),
    path("v1/bot/", include(bot_patterns)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # split view: the init script is its own file, so the CSP needs no unsafe-inline for scripts
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
