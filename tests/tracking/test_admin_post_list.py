"""The staff admin's post list: status and views first, views with thousands separators."""

import re

import pytest

from tests.factories import make_guild, make_post

pytestmark = pytest.mark.django_db


def test_post_list_shows_status_and_views_first_with_separators(staff_client):
    guild = make_guild()
    make_post(guild, views=742_603)
    body = staff_client.get("/admin/tracking/post/").content.decode()
    assert "742,603" in body and "742603" not in body
    headers = re.findall(r'<th scope="col" class="[^"]*column-([a-z_]+)', body)
    assert headers.index("status") < headers.index("guild") and headers.index("views_shown") < headers.index("guild")
    assert headers[:3] == ["__str__", "status", "views_shown"]
