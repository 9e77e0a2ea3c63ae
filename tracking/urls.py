"""URL map. Each app contributes its own urls module as it grows."""

from django.contrib import admin
from django.urls import path

from tracking import health

admin.site.site_header = "Tracking Data staff"
admin.site.site_title = "Tracking Data"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
]
