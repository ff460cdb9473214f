"""No dead links (issue 14 item 3): for every demo role, the pages reachable from the navigation, followed
to depth 3 (GET only, at most 3 URLs per URL pattern, no downloads), answer below 400. SQLite only: a page
crawl gains nothing from a second database."""

from __future__ import annotations

import collections
import re
from urllib.parse import urldefrag, urlsplit

import pytest
from django.urls import Resolver404, resolve

from gongshu.demo import USERS

pytestmark = [pytest.mark.django_db, pytest.mark.crawl]

DEPTH = 3
PER_PATTERN = 3
HREF = re.compile(r'href="([^"#][^"]*)"')
# not pages: files to download, static files, the API (documented by its own schema tests), signing out
SKIP = re.compile(r"^/(static/|api/|logout/)|\.(csv|xlsx|json|jsonld|ttl|rdf|xml|zip|png|parquet)(\?|$)")


def _links(html: str) -> list[str]:
    found = []
    for href in HREF.findall(html):
        href = urldefrag(href.replace("&amp;", "&"))[0]
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not href.startswith("/") or SKIP.search(href):
            continue
        found.append(href)
    return found


def _pattern(path: str) -> str:
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return path  # answered 404 below: reported
    return match.route


def crawl(client) -> list[tuple[str, str, int]]:
    """(page that links, link, status) for every answer of 400 or more."""
    seen: set[str] = set()
    per_pattern: collections.Counter = collections.Counter()
    broken = []
    frontier = [("(start)", "/")]
    for _ in range(DEPTH + 1):
        following = []
        for parent, path in frontier:
            if path in seen:
                continue
            pattern = _pattern(path)
            if per_pattern[pattern] >= PER_PATTERN:
                continue
            seen.add(path)
            per_pattern[pattern] += 1
            response = client.get(path)
            if response.status_code >= 400:
                broken.append((parent, path, response.status_code))
                continue
            if response.status_code in (301, 302):
                following.append((path, response["Location"]))
                continue
            if "text/html" in response.get("Content-Type", ""):
                following += [(path, link) for link in _links(response.content.decode())]
        frontier = following
    return broken


@pytest.mark.parametrize("username", [u[0] for u in USERS])
def test_every_page_a_role_can_reach_answers(username, sign_in):
    broken = crawl(sign_in(username))
    assert not broken, "\n".join(f"{status} {link}  (linked from {parent})" for parent, link, status in broken)
