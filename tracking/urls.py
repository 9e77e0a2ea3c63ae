"""URL map. Each area contributes its own urls module."""

from django.contrib import admin
from django.urls import include, path

from core import health

admin.site.site_header = "Tracking Data staff"
admin.site.site_title = "Tracking Data"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    # Apify run and verification webhooks
    path("api/webhooks/", include("integrations.urls")),
    # Discord interactions and bot callbacks
    path("", include("integrations.discord.urls")),
    # REST API: auth, bot, guilds, schema
    path("api/", include("tracking.api_urls")),
    # operations: /metrics, security dashboard API
    path("", include("tracking.ops_urls")),
    # Login with Discord
    path("", include("dashboard_auth.urls")),
    # server-rendered dashboard pages: / and /dashboard/...
    path("", include("dashboard.urls")),
]

# JSON errors for /api/ paths (one error shape everywhere), Django's pages elsewhere.
handler404 = "core.api.errors.handler404"
handler500 = "core.api.errors.handler500"
