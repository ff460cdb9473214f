"""P3, accounts at MLPS level 3: Argon2, password rules, lockout, idle timeout, TOTP for admins, tokens."""

import datetime as dt
import time

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import Event
from gongshu.demo import PASSWORD, current_demo_otp
from foundation.errors import PermissionDenied, ValidationFailed
from core.models import ApiToken, User
from core.services import create_user, issue_token, revoke_token
from foundation.actor import system_actor
from core.auth import audit_refusals

pytestmark = pytest.mark.django_db


def _login(client, username, password=PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_passwords_are_hashed_with_argon2():
    assert User.objects.get(username="officer").password.startswith("argon2")


@pytest.mark.parametrize("password", ["short1A!", "alllowercaseletters", "1234567890123", "password123"])
def test_weak_passwords_are_refused_and_nothing_is_written(password):
    before = User.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        create_user(system_actor(), username="weak", password=password)
    assert exc.value.field == "password"
    assert User.objects.count() == before
    refusal = Event.objects.order_by("-seq").first()
    assert (refusal.action, refusal.outcome) == ("core.create_user", "refused")


def test_wrong_password_is_refused_and_audited(client):
    response = _login(client, "officer", "Wrong-password-1")
    assert response.status_code == 200
    assert "用户名或密码错误" in response.content.decode()
    event = Event.objects.order_by("-seq").first()
    assert (event.action, event.outcome, event.object_id) == ("core.login", "refused", "officer")


def test_account_locks_after_repeated_failures(client):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "staff", "Wrong-password-1")
    response = _login(client, "staff")  # even the right password is refused while locked
    assert response.status_code == 429
    assert "账户已锁定" in response.content.decode()
    assert Event.objects.filter(action="core.login", outcome="refused", summary__contains="locked_out").exists()


def test_sessions_end_after_idle_timeout(client):
    assert settings.SESSION_SAVE_EVERY_REQUEST and settings.SESSION_COOKIE_AGE <= 30 * 60
    _login(client, "officer")
    assert client.get(reverse("home")).status_code == 200
    session = client.session
    session.set_expiry(-1)  # as if idle past the timeout
    session.save()
    response = client.get(reverse("home"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_administrators_must_pass_totp(client):
    _login(client, "bureau")
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("otp"))
    bad = client.post(reverse("otp"), {"code": "000000" if current_demo_otp("bureau") != "000000" else "111111"})
    assert "验证码不正确" in bad.content.decode()
    assert client.get(reverse("home")).status_code == 302
    device = TOTPDevice.objects.get(user__username="bureau")
    device.throttle_reset()  # a failure throttles the next try (django-otp); a person waits, the test resets
    client.post(reverse("otp"), {"code": current_demo_otp("bureau")})
    assert client.get(reverse("home")).status_code == 200


def test_agency_users_are_not_asked_for_totp(client):
    _login(client, "officer")
    assert client.get(reverse("home")).status_code == 200


def test_acting_for_an_organisation_one_does_not_belong_to_is_refused(client, city):
    _login(client, "officer")
    response = client.post(reverse("switch_organisation"), {"organisation": city.civil.pk})
    assert response.status_code == 403
    assert "不是该组织的成员" in response.content.decode()
    assert client.get(reverse("home")).context["actor"].organisation == city.police


# --- API tokens ------------------------------------------------------------------------------


def _bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_token_is_shown_once_and_stored_hashed(city):
    token, plain = issue_token(city.actor("officer"), name="接口", scopes=["read"])
    stored = ApiToken.objects.get(pk=token.pk)
    secret = plain.split("_", 2)[2]
    assert secret not in stored.secret_hash and len(stored.secret_hash) == 64
    assert not ApiToken.objects.filter(secret_hash__contains=secret).exists()


def test_token_authenticates_for_its_organisation(client, city):
    _, plain = issue_token(city.actor("officer"), name="t", scopes=["read"])
    body = client.get("/api/v1/me", **_bearer(plain)).json()
    assert body["organisation"]["name"] == "双鸭山市公安局"
    assert body["roles"] == ["data_officer"]


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda t: ApiToken.objects.filter(pk=t.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1)), "token_expired"),
        (lambda t: revoke_token(system_actor(), token=t), "token_revoked"),
    ],
    ids=["expired", "revoked"],
)
def test_expired_and_revoked_tokens_are_refused(client, city, mutate, code):
    token, plain = issue_token(city.actor("officer"), name="t", scopes=["read"])
    mutate(token)
    response = client.get("/api/v1/me", **_bearer(plain))
    assert response.status_code == 401
    assert response.json() == {"code": code, "message": response.json()["message"], "field": None}
    audit_refusals(before=time.time() + 120)  # the minute's count, as the worker reports it (one event per address)
    event = Event.objects.filter(action="core.authenticate_token", outcome="refused", object_id="127.0.0.1").latest("seq")
    assert event.data["tokens"].get(token.prefix) and code in event.data["codes"]


def test_forged_token_is_refused(client, city):
    _, plain = issue_token(city.actor("officer"), name="t", scopes=["read"])
    forged = plain[:-4] + ("AAAA" if not plain.endswith("AAAA") else "BBBB")
    assert client.get("/api/v1/me", **_bearer(forged)).json()["code"] == "token_invalid"
    assert client.get("/api/v1/me").status_code == 401


def test_read_scope_cannot_write(client, city):
    _, plain = issue_token(city.actor("officer"), name="t", scopes=["read"])
    response = client.post("/api/v1/catalog/resources", {"name": "x"}, content_type="application/json", **_bearer(plain))
    assert response.status_code == 403
    assert response.json()["code"] == "token_scope"


def test_token_lifetime_is_bounded(city):
    with pytest.raises(ValidationFailed) as exc:
        issue_token(city.actor("officer"), name="t", scopes=["read"], days=settings.GONGSHU_TOKEN_MAX_DAYS + 1)
    assert exc.value.field == "days"


def test_token_of_a_removed_member_stops_working(client, city):
    _, plain = issue_token(city.actor("staff"), name="t", scopes=["read"])
    city.user("staff").memberships.all().delete()
    response = client.get("/api/v1/me", **_bearer(plain))
    assert response.status_code == 403
    assert response.json()["code"] == "not_a_member"


def test_a_colleague_cannot_revoke_someone_elses_token(city):
    token, _ = issue_token(city.actor("officer"), name="t", scopes=["read"])
    with pytest.raises(PermissionDenied):
        revoke_token(city.actor("staff"), token=token)
    token.refresh_from_db()
    assert token.revoked_at is None
