"""The root URLconf with the API's JSON 404/500 handlers wired (as tracking/urls.py should do)."""

from tracking.urls import urlpatterns  # noqa: F401

handler404 = "core.api.errors.handler404"
handler500 = "core.api.errors.handler500"
