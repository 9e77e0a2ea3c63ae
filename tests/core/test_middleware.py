"""Security headers on every response, the request body limit, static files with DEBUG off."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db


class TestSecurityHeaders:
    def test_normal_page_has_a_strict_csp_and_the_other_headers(self, client):
        r = client.get("/healthz")
        csp = r["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self';" in csp and "style-src 'self';" in csp
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert r["X-Content-Type-Options"] == "nosniff"
        assert r["Referrer-Policy"] == "same-origin"
        assert r["Cross-Origin-Opener-Policy"] == "same-origin"
        assert "camera=()" in r["Permissions-Policy"]
        assert r["X-Frame-Options"] == "DENY"

    def test_not_found_pages_have_them_too(self, client):
        assert "frame-ancestors 'none'" in client.get("/no/such/page")["Content-Security-Policy"]

    def test_admin_allows_inline_styles_but_not_inline_scripts(self, client):
        csp = client.get("/admin/login/")["Content-Security-Policy"]
        assert "style-src 'self' 'unsafe-inline'" in csp and "script-src 'self';" in csp

    def test_api_docs_load_nothing_from_outside(self, client):
        """Swagger UI is served from our static files, so the docs work offline and the policy
        names no third-party origin."""
        r = client.get("/api/docs/")
        assert r.status_code == 200
        csp = r["Content-Security-Policy"]
        assert "http" not in csp and "frame-ancestors 'none'" in csp
        html = r.content.decode()
        assert "cdn." not in html
        scripts = re.findall(r'<script src="([^"]+)"', html)
        assert any("swagger-ui-bundle" in src for src in scripts), scripts
        for src in scripts:
            assert src.startswith("/"), src
            if src.startswith("/static/"):
                assert finders.find(src.removeprefix("/static/")), src  # served by whitenoise

    def test_operator_override(self, client, settings):
        settings.CSP_DEFAULT = "default-src 'self'; img-src 'self' https://p16-sign.tiktokcdn.com"
        assert client.get("/healthz")["Content-Security-Policy"] == settings.CSP_DEFAULT


class TestBodyLimit:
    def test_oversized_body_is_413_with_a_json_message(self, client, settings):
        settings.REQUEST_MAX_BODY_BYTES = 1024
        r = client.post("/api/v1/security/events", "x" * 1025, content_type="application/json")
        assert r.status_code == 413
        assert r.json() == {
            "error": {
                "code": "payload_too_large",
                "fields": {},
                "message": "The request body is larger than the 1024 bytes allowed.",
            }
        }

    def test_body_at_the_limit_passes(self, client, settings):
        settings.REQUEST_MAX_BODY_BYTES = 1024
        r = client.post("/api/v1/security/events", "x" * 1024, content_type="application/json")
        assert r.status_code == 401  # reached the view (no key)

    def test_refused_before_the_body_is_read(self, settings):
        from django.test import RequestFactory

        from core.middleware import RequestBodyLimitMiddleware

        settings.REQUEST_MAX_BODY_BYTES = 1024
        request = RequestFactory().post("/x", "tiny", content_type="application/json")
        request.META["CONTENT_LENGTH"] = str(10 * 1024 * 1024)  # claims 10 MB: nothing is read

        def view(req):  # pragma: no cover - must not be reached
            raise AssertionError("the view ran")

        assert RequestBodyLimitMiddleware(view)(request).status_code == 413

    def test_uploads_have_their_own_larger_limit(self, client, settings):
        from django.core.files.uploadedfile import SimpleUploadedFile

        settings.REQUEST_MAX_BODY_BYTES = 1024
        settings.REQUEST_MAX_UPLOAD_BYTES = 64 * 1024
        upload = SimpleUploadedFile("shot.png", b"\x89PNG" + b"0" * 4000, content_type="image/png")
        assert client.post("/no/such/upload", {"file": upload}).status_code == 404  # not 413
        big = SimpleUploadedFile("shot.png", b"0" * 70000, content_type="image/png")
        assert client.post("/no/such/upload", {"file": big}).status_code == 413

    def test_malformed_content_length_is_400(self):
        from django.test import RequestFactory

        from core.middleware import RequestBodyLimitMiddleware

        request = RequestFactory().post("/x", "{}", content_type="application/json")
        request.META["CONTENT_LENGTH"] = "lots"
        assert RequestBodyLimitMiddleware(lambda r: None)(request).status_code == 400


def test_collectstatic_then_served_by_whitenoise_with_debug_off(settings, tmp_path):
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)
    from django.contrib.staticfiles.storage import staticfiles_storage

    url = staticfiles_storage.url("admin/css/base.css")
    assert url.startswith("/static/admin/css/base.") and url != "/static/admin/css/base.css"  # hashed name
    r = Client().get(url)  # a new client: whitenoise reads STATIC_ROOT when the middleware loads
    assert r.status_code == 200
    assert b"".join(r.streaming_content).startswith(b"/*")
    assert "max-age=315360000" in r["Cache-Control"]  # hashed files are cached forever
    docs = Client().get("/api/docs/").content.decode()
    bundle = re.search(r'<script src="(/static/[^"]*swagger-ui-bundle[^"]*)"', docs).group(1)
    assert Client().get(bundle).status_code == 200  # the docs page's Swagger UI, offline
