"""Shared test set-up: the demo city is loaded once per session into the test database (SQLite or
PostgreSQL), each test runs in a transaction that is rolled back, browser tests run last."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop


def pytest_collection_modifyitems(config, items):
    # Tests on committed data (browser, crash) flush the database afterwards: run them last.
    items.sort(key=lambda item: item.get_closest_marker("flushes") is not None)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from gongshu.demo import load

    with django_db_blocker.unblock():
        load(echo=lambda *_: None)


@pytest.fixture(autouse=True)
def _isolated_files(settings, tmp_path):
    settings.GONGSHU_CHECKPOINT_DIR = tmp_path / "checkpoints"


@pytest.fixture
def sign_in(client, city):
    """``sign_in("bureau")``: the test client signed in as that demo user, past the TOTP step for admins."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    def sign_in(username):
        user = city.user(username)
        client.force_login(user)
        device = TOTPDevice.objects.filter(user=user).first()
        if device:
            session = client.session
            session["otp_device_id"] = device.persistent_id
            session.save()
        return client

    return sign_in


@pytest.fixture
def committed_demo(transactional_db):
    """The demo city on committed data (for a live server or a child process); the test database is
    flushed afterwards, so such tests are marked ``flushes`` and run last."""
    from django.db import connection

    from audit import guards
    from gongshu.demo import load
    from core.models import Region

    guards.install(connection)
    if not Region.objects.exists():  # an earlier such test flushed the database
        from gongshu.seed import reference_data

        reference_data()
        load(echo=lambda *_: None)
    yield
    guards.remove(connection)  # the flush after a transactional test empties audit_event too


@pytest.fixture
def city(db):
    """Handy handles on the demo city."""
    from core.models import Organisation, Region, User

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
