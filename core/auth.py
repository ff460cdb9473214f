"""API token authentication for Django Ninja: the token's organisation is the acting organisation.

Every API call authenticates, so a resolved token is kept per process for GONGSHU_POLICY_CACHE_SECONDS;
each call still reads the token's row (revocation and expiry apply at once), and the time of last use
is written at most once a minute. Each token's calls are rate-limited (``core.ratelimit``).

A refusal before anyone is known (a missing, malformed, unknown, expired or revoked token; a peer's bad
signature) is not audited one by one — a flood would append hundreds of events a second — but counted per
client address and minute: ``audit_refusals``, run by the worker every poll, appends one event per action,
address and minute carrying the count, once the minute has ended. Past GONGSHU_RATE_UNAUTHENTICATED_PER_MINUTE
refusals in a minute an address is answered 429 instead. A refusal writes nothing to the chain itself."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import time
from typing import NoReturn

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from ninja.security import HttpBearer

from audit.services import record, record_refusal

from foundation import rawdb

from . import ratelimit
from foundation.actor import Actor, system_actor
from .actor import act_as
from foundation.errors import GongshuError, NotAuthenticated, PermissionDenied, TooManyRequests
from .services import authenticate_token

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
TOUCH_EVERY = dt.timedelta(minutes=1)
REFUSALS = "refused|"  # tally keys: refused|<action>|<client address>|<code>|<token prefix, for a real token>
MINUTE = 60
GRACE_SECONDS = 5  # a minute is reported this long after it ended: the processes have synced their counts
KNOWN_TOKEN_REFUSALS = {"token_expired", "token_revoked", "user_inactive"}  # the secret matched a real token


@dataclasses.dataclass
class _Resolved:
    at: float
    token: object  # core.models.ApiToken
    actor: Actor


_resolved: dict[str, _Resolved] = {}


def _resolve(raw: str, now: dt.datetime) -> tuple[object, Actor]:
    key = hashlib.sha256(raw.encode()).hexdigest()
    hit = _resolved.get(key)
    if hit is not None and time.monotonic() - hit.at < settings.GONGSHU_POLICY_CACHE_SECONDS:
        with rawdb.cursor() as cursor:
            cursor.execute(rawdb.sql("SELECT revoked_at FROM core_apitoken WHERE id = %s"), [hit.token.pk])
            row = cursor.fetchone()
        if row is not None and row[0] is None and hit.token.expires_at > now:
            return hit.token, hit.actor
    token = authenticate_token(raw)
    actor = act_as(token.user, token.organisation_id, channel="api")
    if len(_resolved) > 10_000:
        _resolved.clear()
    _resolved[key] = _Resolved(time.monotonic(), token, actor)
    return token, actor


class TokenAuth(HttpBearer):
    """``Authorization: Bearer gs_<prefix>_<secret>``. Writes need the ``write`` scope; an operation that
    only reads but takes a body (a query) is declared with ``reads=True``."""

    def __init__(self, *, reads: bool = False):
        super().__init__()
        self.reads = reads

    def __call__(self, request):
        scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")  # not request.headers: built per request
        if scheme.lower() != self.openapi_scheme or not token.strip():
            refuse_unauthenticated(request, "core.authenticate_token",
                                   NotAuthenticated("需要有效的 API 令牌", code=NotAuthenticated.code))
        return self.authenticate(request, token.strip())

    def authenticate(self, request, token):
        now = timezone.now()
        try:
            api_token, actor = _resolve(token, now)
        except NotAuthenticated as exc:
            known = exc.code in KNOWN_TOKEN_REFUSALS and token.count("_") >= 2
            refuse_unauthenticated(request, "core.authenticate_token", exc, token=token.split("_")[1] if known else "")
        except GongshuError as exc:  # a good token whose user may not act for its organisation: audited
            prefix = token.split("_")[1] if token.count("_") >= 2 else ""
            record_refusal(system_actor("api"), "core.authenticate_token", exc, ("core.apitoken", prefix))
            raise
        try:
            ratelimit.hit(f"token:{api_token.pk}", limit=settings.GONGSHU_RATE_TOKEN_PER_MINUTE, window_seconds=MINUTE)
        except TooManyRequests as exc:  # counted like the refusals above, not audited one by one
            _tally("core.rate_limit", ratelimit.client_address(request), exc.code, api_token.prefix)
            raise
        request.actor = actor  # its events take the request's id from the request (core.actor.rid)
        if not self.reads and request.method not in SAFE_METHODS and "write" not in api_token.scopes:
            raise PermissionDenied("令牌只有只读权限", code="token_scope")  # known caller: audited by the API's handler
        if api_token.last_used_at is None or now - api_token.last_used_at > TOUCH_EVERY:
            api_token.last_used_at = now
            type(api_token).objects.filter(pk=api_token.pk).update(last_used_at=now)
        return api_token


# --- refusals before anyone is known ------------------------------------------------------------


def _tally(action: str, address: str, code: str, token: str = "") -> None:
    ratelimit.tally(f"{REFUSALS}{action}|{address}|{code}|{token}", window_seconds=MINUTE)


def refuse_unauthenticated(request, action: str, error: GongshuError, *, token: str = "") -> NoReturn:
    """Refuse a request whose sender is not known: count it for its client address and minute, and answer
    ``error`` — or 429 once the address is past GONGSHU_RATE_UNAUTHENTICATED_PER_MINUTE this minute.
    ``token``: the prefix of a real token that may no longer be used (expired, revoked), kept in the count."""
    address = ratelimit.client_address(request)
    try:
        ratelimit.hit(f"address:{address}", limit=settings.GONGSHU_RATE_UNAUTHENTICATED_PER_MINUTE, window_seconds=MINUTE)
    except TooManyRequests as limited:
        _tally(action, address, limited.code, token)
        raise limited from error
    _tally(action, address, error.code, token)
    raise error


def audit_refusals(*, before: float | None = None) -> int:
    """One audit event per action, client address and minute: the number of refusals, by code, and by token
    for real tokens refused (expired, revoked), for the minutes that ended GRACE_SECONDS ago (or by
    ``before``, Unix seconds). The counts are taken from the table in the transaction that records them:
    each is reported once and none is lost. Returns the number of events."""
    ratelimit.flush()  # this process's counts; a web process adds its own at its next use a second or more later
    cutoff = before if before is not None else time.time() - GRACE_SECONDS
    if not ratelimit.ended(REFUSALS, ended_before=cutoff):  # the worker asks every second: a read, mostly
        return 0
    actor = system_actor("api")
    with transaction.atomic():
        minutes: dict[tuple[str, str, int], dict] = {}
        for count in ratelimit.take(REFUSALS, ended_before=cutoff):
            action, address, code, token = count.name[len(REFUSALS):].rsplit("|", 3)
            detail = minutes.setdefault((action, address, count.window_start), {"count": 0, "codes": {}, "tokens": {}})
            detail["count"] += count.count
            detail["codes"][code] = detail["codes"].get(code, 0) + count.count
            if token:
                detail["tokens"][token] = detail["tokens"].get(token, 0) + count.count
        for (action, address, start), detail in minutes.items():
            minute = timezone.localtime(dt.datetime.fromtimestamp(start, dt.timezone.utc)).isoformat()
            record(actor, action, ("core.client_address", address), outcome="refused",
                   detail={"minute": minute, **{k: v for k, v in detail.items() if v}})
    return len(minutes)
