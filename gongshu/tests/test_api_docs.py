"""The API docs page works offline (issue 14 item 6): Swagger UI from the platform's own static files, no
CDN; the files are there to serve."""

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def test_the_api_docs_page_loads_nothing_from_another_host(client):
    page = client.get("/api/v1/docs").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and not [s for s in sources if s.startswith(("http://", "https://", "//"))], sources
    assert any("swagger-ui-bundle" in s for s in sources)
    for source in sources:
        if source.startswith("/static/"):
            assert finders.find(source.removeprefix("/static/")), source


def test_every_page_states_the_time_zone_its_times_are_in(city, sign_in):
    """Issue 14 item 6: times are shown in the city's zone, and the page says which."""
    page = sign_in("officer").get("/").content.decode()
    assert "时间均为 Asia/Shanghai（UTC+0800）" in page
