"""Shared test set-up: the demo city, and beside it the small city unit tests use (gongshu.factories), are
loaded once per run (per worker of a parallel run) into the test database (SQLite or PostgreSQL); each unit
test runs in a transaction that is rolled back; end-to-end tests on committed data (a live server, a child
process, a browser) run last, on what earlier ones left, and nothing reloads a city."""

from __future__ import annotations

import collections
import os

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop


# Modules that start a browser, a JVM or a second instance: in each group (rolled-back, committed) they run
# first, whatever their size, so that a worker does not take one on when the other is nearly done.
HEAVY_MARKERS = ("browser", "spark", "federation", "schemathesis")
# Tests that gain nothing from a second database run on SQLite only: a browser walk (the pages and their
# queries are the same), a Spark run (it reads the Parquet snapshots, not the database), the schema fuzzing,
# the page crawl.
SQLITE_ONLY_MARKERS = ("browser", "spark", "schemathesis", "crawl")


def pytest_collection_modifyitems(config, items):
    """Tests on committed data (browser, crash) leave what they wrote: their modules run after every module
    of rolled-back tests (a parallel run hands out whole files in this order, `--dist loadfile
    --no-loadscope-reorder`); the heavy modules and then the larger ones first, so that the two workers
    finish together."""
    sizes = collections.Counter(item.path for item in items)
    committed = {item.path for item in items if item.get_closest_marker("committed")}
    mixed = sorted(str(item.path) for item in items if item.path in committed and not item.get_closest_marker("committed"))
    if mixed:
        raise pytest.UsageError(f"a module of committed tests holds rolled-back ones too: {mixed[0]}")
    heavy = {item.path for item in items if any(item.get_closest_marker(name) for name in HEAVY_MARKERS)}
    items.sort(key=lambda item: (item.path in committed, item.path not in heavy, -sizes[item.path], str(item.path)))
    from django.db import connection

    if connection.vendor != "sqlite":
        for item in items:
            marker = next((name for name in SQLITE_ONLY_MARKERS if item.get_closest_marker(name)), None)
            if marker:
                item.add_marker(pytest.mark.skip(reason=f"{marker}: runs on SQLite only, a second database adds nothing to it"))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from gongshu.demo import load

    from gongshu.factories import small_city

    with django_db_blocker.unblock():
        load(echo=lambda *_: None)
        small_city(rows=5).household  # beside it, the unit tests' small city (the small_city fixture)


@pytest.fixture(autouse=True)
def _isolated_files(settings, tmp_path):
    settings.GONGSHU_CHECKPOINT_DIR = tmp_path / "checkpoints"


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the platform's language: a request in English leaves English active in the thread
    (the locale middleware does not switch back), and a later test's messages would be English."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def sign_in(client, city):
    """``sign_in("bureau")``: the test client signed in as that demo user, past the TOTP step for admins."""
    from gongshu.testing import signed_in

    def sign_in(username):
        return signed_in(client, city.user(username))

    return sign_in


@pytest.fixture
def committed_demo(django_db_setup, django_db_blocker):
    """The demo city on committed data (for a live server or a child process): no transaction around the
    test and no flush after it, so such tests are marked ``committed`` and run last."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture(autouse=True)
def _django_db_marker(request):
    """Replaces pytest-django's fixture of this name (pinned version): a test marked ``django_db`` (or in a
    module so marked) runs in a rolled-back transaction, except a ``committed`` test, which runs on
    committed_demo."""
    if request.node.get_closest_marker("django_db") and not request.node.get_closest_marker("committed"):
        request.getfixturevalue("_django_db_helper")


@pytest.fixture(autouse=True)
def _live_server_helper(request):
    """Replaces pytest-django's helper of this name, which would flush the database after every live-server
    test (and the next one would reload the city): a live server here serves the committed demo city."""
    if "live_server" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("committed_demo")
    live_server = request.getfixturevalue("live_server")
    live_server._live_server_modified_settings.enable()
    yield
    live_server._live_server_modified_settings.disable()


@pytest.fixture
def city(request):
    """Handy handles on the demo city (in the test's transaction, or on committed data)."""
    from core.models import Organisation, Region, User

    if "committed_demo" not in request.fixturenames:
        request.getfixturevalue("db")

    class City:
        region = Region.objects.get(code="230500")
        county = Region.objects.get(code="230502")
        bureau = Organisation.objects.get(name="双鸭山市数据局")
        centre = Organisation.objects.get(name="双鸭山市大数据中心")
        county_bureau = Organisation.objects.get(name="尖山区数据局")
        police = Organisation.objects.get(name="双鸭山市公安局")
        civil = Organisation.objects.get(name="双鸭山市民政局")
        county_civil = Organisation.objects.get(name="尖山区民政局")
        operator = Organisation.objects.get(name="双鸭山数据运营有限公司")

        @staticmethod
        def user(username):
            return User.objects.get(username=username)

        @staticmethod
        def actor(username, organisation=None, channel="web"):
            from core.actor import act_as

            user = User.objects.get(username=username)
            return act_as(user, organisation.pk if organisation else None, channel=channel)

    return City


@pytest.fixture
def small_city(db):
    """The small city of gongshu.factories (built once per worker beside the demo city, with its entry and
    5 rows), its handles fresh for each test (which is rolled back): for unit tests that need a few bodies,
    users and one published entry, not the demo's content."""
    from gongshu.factories import built_small_city

    return built_small_city()
