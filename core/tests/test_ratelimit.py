"""One rate limiter and one rule for refusals (issue 12 item 10; P3, SEC2, SYS Art. 60): a token past its
limit and an address past its refusals are answered 429 with Retry-After in the one error shape; the limit
holds across processes; refusals of unknown senders are counted per client address and minute into one
audit event each, none lost, none twice."""

import time
from pathlib import Path

import pytest
from django.test import RequestFactory, override_settings

from audit.models import Event
from core import ratelimit
from core.auth import audit_refusals
from foundation.errors import TooManyRequests
from core.models import RateCount
from core.services import issue_token

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_counts():
    ratelimit.reset()  # this process's counts from earlier tests (their rows were rolled back)
    yield
    ratelimit.reset()


def _fresh_window(seconds: int, margin: float = 3.0) -> None:
    """Wait until the current window of ``seconds`` has at least ``margin`` seconds left (a few seconds: a test
    of a minute window does its requests within them, and waits rarely and briefly)."""
    left = seconds - time.time() % seconds
    if left < margin:
        time.sleep(left + 0.05)


def _bearer(token: str, address: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}", "REMOTE_ADDR": address}


@pytest.mark.django_db
def test_a_token_past_its_limit_is_answered_429_with_retry_after_and_other_tokens_go_on_P3(client, city):
    """P3: a token's calls are limited per minute; the refusal is the structured 429 with Retry-After, it is
    counted (not audited one by one), and another token is not affected."""
    _, busy = issue_token(city.actor("officer"), name="busy", scopes=["read"])
    _, other = issue_token(city.actor("officer"), name="other", scopes=["read"])
    _fresh_window(60, margin=4)
    events = Event.objects.count()
    with override_settings(GONGSHU_RATE_TOKEN_PER_MINUTE=5):
        for _ in range(5):
            assert client.get("/api/v1/me", **_bearer(busy, "192.0.2.10")).status_code == 200  # below the limit: fine
        refused = client.get("/api/v1/me", **_bearer(busy, "192.0.2.10"))
        assert refused.status_code == 429
        assert refused.json() == {"code": "rate_limited", "message": refused.json()["message"], "field": None}
        assert 1 <= int(refused["Retry-After"]) <= 60 and refused["Retry-After"] in refused.json()["message"]
        assert client.get("/api/v1/me", **_bearer(other, "192.0.2.10")).status_code == 200
    assert not Event.objects.filter(seq__gt=events, outcome="refused").exists()  # not one event per refusal
    assert audit_refusals(before=time.time() + 120) == 1
    event = Event.objects.get(seq__gt=events, action="core.rate_limit", object_id="192.0.2.10")
    assert event.data["count"] == 1 and event.data["codes"] == {"rate_limited": 1}
    assert list(event.data["tokens"].values()) == [1]


@pytest.mark.django_db
def test_below_the_limit_uses_pass_past_it_they_are_refused_and_after_the_window_they_pass_again():
    """The limiter's own API, as a later quota uses it: its code and message, Retry-After within the window,
    the count shared in the database, and a new window starting afresh."""
    _fresh_window(2, margin=1.2)
    for n in (1, 2, 3):
        assert ratelimit.hit("quota:test", limit=3, window_seconds=2, code="quota_exceeded", message="配额已用完") == n
    with pytest.raises(TooManyRequests) as refused:
        ratelimit.hit("quota:test", limit=3, window_seconds=2, code="quota_exceeded", message="配额已用完")
    assert (refused.value.code, refused.value.message, refused.value.status) == ("quota_exceeded", "配额已用完", 429)
    assert 1 <= refused.value.retry_after <= 2 and refused.value.headers == {"Retry-After": str(refused.value.retry_after)}
    assert RateCount.objects.get(name="quota:test").count == 3  # a small limit is counted in the table on every use
    time.sleep(refused.value.retry_after)
    assert ratelimit.hit("quota:test", limit=3, window_seconds=2) == 1
    assert ratelimit.hit("anything", limit=0, window_seconds=60) == 0  # 0: no limit


@pytest.mark.django_db
def test_a_flood_of_bad_tokens_is_one_audit_event_per_address_and_minute_with_its_count_SEC2(client):
    """SEC2 without flooding the chain: refusals of unknown senders are counted per client address and minute;
    past the address's limit they are answered 429; one event per address and minute carries the count by
    code; every refusal is in a count, and a count is reported once."""
    _fresh_window(60, margin=4)
    events = Event.objects.order_by("-seq").values_list("seq", flat=True).first()
    flood = "198.51.100.7"
    answers = []
    with override_settings(GONGSHU_RATE_UNAUTHENTICATED_PER_MINUTE=50):
        for i in range(80):
            headers = [{}, {"HTTP_AUTHORIZATION": "Bearer not-a-token"},
                       {"HTTP_AUTHORIZATION": f"Bearer gs_{i:012x}_{'x' * 40}"}][i // 27 if i < 54 else 2]
            response = client.get("/api/v1/me", REMOTE_ADDR=flood, **headers)
            answers.append(response.status_code)
            assert set(response.json()) == {"code", "message", "field"}
            if response.status_code == 429:
                assert int(response["Retry-After"]) >= 1 and response.json()["code"] == "rate_limited"
        for _ in range(3):
            assert client.get("/api/v1/me", REMOTE_ADDR="198.51.100.8").status_code == 401  # another address: its own limit
    assert answers == [401] * 50 + [429] * 30
    assert not Event.objects.filter(seq__gt=events, object_id__in=[flood, "198.51.100.8"]).exists()  # nothing yet, per refusal

    assert audit_refusals(before=time.time() + 120) == 2
    (event,) = Event.objects.filter(seq__gt=events, action="core.authenticate_token", object_id=flood)
    summary = event.data
    assert event.outcome == "refused" and event.object_type == "core.client_address"
    assert summary["count"] == 80 and summary["codes"] == {"not_authenticated": 27, "token_invalid": 23, "rate_limited": 30}
    assert summary["minute"].endswith(":00+08:00") and "tokens" not in summary  # unknown tokens are not named
    assert Event.objects.get(seq__gt=events, object_id="198.51.100.8").data["count"] == 3
    assert audit_refusals(before=time.time() + 120) == 0  # each count is reported once
    assert not RateCount.objects.filter(name__startswith="refused|", tally=True).exists()


@pytest.mark.django_db
def test_a_real_but_expired_token_is_named_in_its_minute_count_P3(client, city):
    """A refusal of a real token (expired, revoked) keeps the token's prefix in the count: who still uses it."""
    from core.models import ApiToken
    from core.services import revoke_token
    from foundation.actor import system_actor

    token, plain = issue_token(city.actor("officer"), name="t", scopes=["read"])
    revoke_token(system_actor(), token=token)
    _fresh_window(60, margin=4)
    for _ in range(2):
        response = client.get("/api/v1/me", **_bearer(plain, "192.0.2.44"))
        assert response.status_code == 401 and response.json()["code"] == "token_revoked"
    audit_refusals(before=time.time() + 120)
    event = Event.objects.get(action="core.authenticate_token", object_id="192.0.2.44")
    assert event.data["tokens"] == {ApiToken.objects.get(pk=token.pk).prefix: 2}


@pytest.mark.django_db
def test_the_minute_is_reported_by_the_worker_once_it_has_ended(client):
    """Without ``before``: only minutes that ended (plus a grace for the other processes to sync) are reported,
    by the worker's queued job."""
    from gongshu.jobs import audit_refusals as job

    _fresh_window(60, margin=4)
    client.get("/api/v1/me", REMOTE_ADDR="192.0.2.55")
    assert job() == "0 refusal count(s) audited"  # the minute is still running
    (row,) = RateCount.objects.filter(name__contains="|192.0.2.55|")
    RateCount.objects.filter(pk=row.pk).update(window_start=row.window_start - 120, ends_at=row.ends_at - 120)  # it ended
    assert job() == "1 refusal count(s) audited"
    assert Event.objects.filter(object_id="192.0.2.55").count() == 1


@override_settings(GONGSHU_TRUSTED_PROXIES=frozenset({"10.0.0.1"}))
def test_the_client_address_is_remote_addr_unless_a_trusted_proxy_forwarded_it():
    """The address a limit counts: a listed proxy's X-Forwarded-For is believed, anybody else's is not."""
    factory = RequestFactory()
    forwarded = {"HTTP_X_FORWARDED_FOR": "203.0.113.9, 10.0.0.1"}
    assert ratelimit.client_address(factory.get("/", REMOTE_ADDR="10.0.0.1", **forwarded)) == "203.0.113.9"
    assert ratelimit.client_address(factory.get("/", REMOTE_ADDR="192.0.2.1", **forwarded)) == "192.0.2.1"  # forged
    garbled = factory.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="x|y, 10.0.0.1")
    assert ratelimit.client_address(garbled) == "10.0.0.1"
    assert ratelimit.client_address(factory.get("/", REMOTE_ADDR="10.0.0.1")) == "10.0.0.1"
