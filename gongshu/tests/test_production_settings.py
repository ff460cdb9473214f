"""GONGSHU_ENV=production (issue 12 item 10; SYS Art. 60, P3): a Content-Security-Policy, HSTS and Secure
cookies, and no start at all with an unset or default secret key; the demo and the tests stay on plain http.
Settings are imported in a child process with the environment set, as a server would start."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from foundation import csp

ROOT = Path(__file__).resolve().parents[2]
STRONG = secrets.token_urlsafe(50)
PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
page = Client().get("/login/", secure=True)
print(json.dumps({"headers": dict(page.headers), "csrf_secure": bool(page.cookies["csrftoken"]["secure"]),
                  "session_secure": settings.SESSION_COOKIE_SECURE, "hsts": settings.SECURE_HSTS_SECONDS,
                  "api": Client().get("/api/v1/health", secure=True).status_code}))
"""


def _start(tmp_path: Path, code: str = "import django; django.setup()", **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SECRET_KEY", "GONGSHU_ENV", "GONGSHU_CSP", "DATABASE_URL")}
    clean.update(GONGSHU_DATA_DIR=str(tmp_path / "data"), GONGSHU_KEY_DIR=str(tmp_path / "keys"),
                 DJANGO_SETTINGS_MODULE="gongshu.settings", **env)
    return subprocess.run([sys.executable, "-c", code], env=clean, cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("key", [None, "", "changeme", "django-insecure-" + "x1y2z3" * 10, "short-but-random-Q9", "ab" * 40],
                         ids=["unset", "empty", "placeholder", "django-insecure", "short", "few-characters"])
def test_production_refuses_to_start_without_a_strong_secret_key_P3(tmp_path, key):
    """A session or a signed token under a key anyone may know is forged at will: production does not start."""
    started = _start(tmp_path, GONGSHU_ENV="production", **({} if key is None else {"DJANGO_SECRET_KEY": key}))
    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr and "refusing to start" in started.stderr
    assert not (tmp_path / "keys" / "django-secret-key").exists()  # and no key was made up on the machine


def test_an_unknown_environment_is_refused(tmp_path):
    started = _start(tmp_path, GONGSHU_ENV="prod", DJANGO_SECRET_KEY=STRONG)
    assert started.returncode != 0 and "GONGSHU_ENV must be development or production" in started.stderr


def test_production_answers_with_csp_hsts_and_secure_cookies_SEC3(tmp_path):
    started = _start(tmp_path, PROBE, GONGSHU_ENV="production", DJANGO_SECRET_KEY=STRONG)
    assert started.returncode == 0, started.stderr[-2000:]
    probe = json.loads(started.stdout.strip().splitlines()[-1])
    headers = probe["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000"
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert probe["csrf_secure"] and probe["session_secure"] and probe["hsts"] == 31536000
    assert probe["api"] == 200


def test_the_demo_and_the_tests_stay_on_plain_http(tmp_path):
    started = _start(tmp_path, PROBE)  # GONGSHU_ENV unset: development, a key generated in the key directory
    assert started.returncode == 0, started.stderr[-2000:]
    probe = json.loads(started.stdout.strip().splitlines()[-1])
    assert "Strict-Transport-Security" not in probe["headers"] and "Content-Security-Policy" not in probe["headers"]
    assert not probe["csrf_secure"] and not probe["session_secure"] and probe["hsts"] == 0
    assert (tmp_path / "keys" / "django-secret-key").exists()
    assert settings.GONGSHU_ENV == "development" and not settings.SESSION_COOKIE_SECURE  # this very test run


_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>(.*?)</script>", re.S)
_INLINE_ATTRIBUTE = re.compile(r"\s(on[a-z]+|style)=\"([^\"]*)\"")


@pytest.mark.django_db
def test_every_inline_script_handler_and_style_of_the_pages_is_allowed_by_its_hash(city, sign_in):
    """The policy allows exactly the inline code the templates carry (by hash), and none is a template variable."""
    from datetime import timedelta

    from django.utils import timezone

    from catalog.models import Resource
    from sharing import services
    from workflow.services import transition

    assert csp.inline()[3] == ()  # no inline code that renders a variable (it could not be hashed)
    request = services.request_share(city.actor("cdo_civil_affairs"), Resource.objects.get(name="户籍人口基本信息"),
                                     scenario="婚姻登记核验", basis="条例", method="api", items=["citizen_id"],
                                     valid_until=timezone.localdate() + timedelta(days=30))
    transition(city.actor("officer"), request.case, "agree")
    request.refresh_from_db()  # the grant was made by the case's hook
    with override_settings(GONGSHU_CSP=True):
        client = sign_in("cdo_civil_affairs")  # the middleware chain is built at its first request, here
        checked = 0
        for path in ("/", "/share/", f"/share/grants/{request.grant.ref}/", "/catalog/lists/"):
            page = client.get(path)
            assert page.status_code == 200, path
            allowed = page["Content-Security-Policy"]
            html = page.content.decode()
            for code in _INLINE_SCRIPT.findall(html) + [value for _, value in _INLINE_ATTRIBUTE.findall(html)]:
                assert csp._hash(code) in allowed, (path, code[:80])
                checked += 1
    assert checked >= 6  # the chart helper and its calls, the organisation switch, the chart heights
