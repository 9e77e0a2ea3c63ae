"""Dashboard pages: / (landing) and /dashboard/... Guild pages carry ``guild_id`` so that
GuildScopeMiddleware scopes them to that guild."""

from django.urls import path

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("demo-login/", views.demo_login, name="demo-login"),
    path("dashboard/", views.guild_picker, name="picker"),
    path("dashboard/register/", views.register_guild_page, name="register-guild"),
    path("dashboard/logout/", views.logout, name="logout"),
    path("dashboard/<id:guild_id>/", views.overview, name="overview"),
    path("dashboard/<id:guild_id>/posts/", views.post_list, name="posts"),
    path("dashboard/<id:guild_id>/posts/<id:post_id>/", views.post_detail, name="post-detail"),
    path("dashboard/<id:guild_id>/posts/<id:post_id>/review/", views.post_review, name="post-review"),
    path("dashboard/<id:guild_id>/review/", views.review_page, name="review"),
    path("dashboard/<id:guild_id>/creators/", views.creator_list, name="creators"),
    path("dashboard/<id:guild_id>/leaderboard/", views.leaderboard_page, name="leaderboard"),
    path("dashboard/<id:guild_id>/leaderboard.csv", views.leaderboard_csv, name="leaderboard-csv"),
    path("dashboard/<id:guild_id>/clients/", views.client_list, name="clients"),
    path("dashboard/<id:guild_id>/clients/new/", views.client_edit, name="client-new"),
    path("dashboard/<id:guild_id>/clients/<id:account_id>/edit/", views.client_edit, name="client-edit"),
    path("dashboard/<id:guild_id>/bonus-rules/", views.bonus_rules, name="bonus-rules"),
    path("dashboard/<id:guild_id>/bonus-rules/new/", views.bonus_rule_edit, name="bonus-rule-new"),
    path("dashboard/<id:guild_id>/bonus-rules/<id:rule_id>/edit/", views.bonus_rule_edit, name="bonus-rule-edit"),
    path("dashboard/<id:guild_id>/bonus-rules/<id:rule_id>/delete/", views.bonus_rule_delete, name="bonus-rule-delete"),
    path("dashboard/<id:guild_id>/settings/", views.guild_settings, name="settings"),
    path("dashboard/<id:guild_id>/budget/", views.budget_settings, name="budget"),
    path("dashboard/<id:guild_id>/audit/", views.audit_log, name="audit"),
    path("dashboard/<id:guild_id>/money/", views.money, name="money"),
    path("dashboard/<id:guild_id>/money/campaigns/new/", views.campaign_edit, name="campaign-new"),
    path("dashboard/<id:guild_id>/money/campaigns/<id:campaign_id>/", views.campaign_page, name="campaign"),
    path("dashboard/<id:guild_id>/money/campaigns/<id:campaign_id>/edit/", views.campaign_edit, name="campaign-edit"),
    path(
        "dashboard/<id:guild_id>/money/campaigns/<id:campaign_id>/brand-links/",
        views.brand_link_create,
        name="brand-link-create",
    ),
    path(
        "dashboard/<id:guild_id>/money/campaigns/<id:campaign_id>/brand-links/<id:link_id>/revoke/",
        views.brand_link_revoke,
        name="brand-link-revoke",
    ),
    # A brand's read-only campaign report: public, behind a signed, expiring, revocable link.
    path("brand-report/<str:token>/", views.brand_report, name="brand-report"),
    path(
        "dashboard/<id:guild_id>/money/statements/<id:statement_id>/<slug:verb>/",
        views.statement_action,
        name="statement-action",
    ),
    path("dashboard/<id:guild_id>/money/bonuses/<id:entry_id>/pay/", views.bonus_pay, name="bonus-pay"),
    path("dashboard/<id:guild_id>/money/statements/approve/", views.statements_approve, name="statements-approve"),
    path("dashboard/<id:guild_id>/money/creators/", views.money_creators, name="money-creators"),
    path("dashboard/<id:guild_id>/money/creators/<id:creator_id>/", views.money_creator, name="money-creator"),
]
