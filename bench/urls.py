"""bench/reads.py's URLconf: every production URL plus one bench-only bare DRF view.

The bare view answers ``GET /bench/bare`` with the JSON body read once per worker from the file named
by ``BENCH_BARE_BODY`` (the posts list's own body, saved by the bench): a DRF APIView with no
authentication, permission, throttle, query or serializer — what DRF and the middleware cost for the
same response, the floor the posts list is compared with. Loaded only through bench/settings.py.
"""

import json
import os

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from tracking.urls import handler404, handler500
from tracking.urls import urlpatterns as production

_body: object = None


class BareView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request):
        global _body  # noqa: PLW0603 - read once per worker
        if _body is None:
            with open(os.environ["BENCH_BARE_BODY"], encoding="utf-8") as fh:
                _body = json.load(fh)
        return Response(_body)


urlpatterns = [path("bench/bare", BareView.as_view()), *production]
__all__ = ["handler404", "handler500", "urlpatterns"]
