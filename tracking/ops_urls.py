"""Operations: the Prometheus scrape and the security dashboard API."""

from django.urls import path

from dashboard_auth import security_api
from tracking import ops_views

urlpatterns = [
    path("metrics", ops_views.metrics, name="metrics"),
    path("api/v1/security/events", security_api.SecurityEventList.as_view(), name="security-events"),
    path("api/v1/security/sessions", security_api.ActiveSessionList.as_view(), name="security-sessions"),
    path(
        "api/v1/security/sessions/<id:session_id>/revoke",
        security_api.RevokeSession.as_view(),
        name="security-session-revoke",
    ),
    path("api/v1/security/service-keys", security_api.ServiceKeyList.as_view(), name="security-service-keys"),
    path(
        "api/v1/security/service-keys/<str:name>/revoke",
        security_api.RevokeServiceKey.as_view(),
        name="security-service-key-revoke",
    ),
]
