"""API token authentication for Django Ninja: the token's organisation is the acting organisation.

Every API call authenticates, so a resolved token is kept per process for GONGSHU_POLICY_CACHE_SECONDS;
each call still reads the token's row (revocation and expiry apply at once), and the time of last use
is written at most once a minute."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import time

from django.conf import settings
from django.utils import timezone
from ninja.security import HttpBearer

from audit.services import record_refusal

from . import rawdb
from .actor import Actor, act_as, system_actor
from .errors import GongshuError, PermissionDenied
from .services import authenticate_token

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
TOUCH_EVERY = dt.timedelta(minutes=1)


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
        return self.authenticate(request, token.strip()) if scheme.lower() == self.openapi_scheme and token else None

    def authenticate(self, request, token):
        now = timezone.now()
        try:
            api_token, actor = _resolve(token, now)
            if not self.reads and request.method not in SAFE_METHODS and "write" not in api_token.scopes:
                raise PermissionDenied("令牌只有只读权限", code="token_scope")
            request.actor = actor  # its events take the request's id from the request (core.actor.rid)
        except GongshuError as exc:
            prefix = token.split("_")[1] if token.count("_") >= 2 else ""
            record_refusal(system_actor("api"), "core.authenticate_token", exc, ("core.apitoken", prefix))
            raise
        if api_token.last_used_at is None or now - api_token.last_used_at > TOUCH_EVERY:
            api_token.last_used_at = now
            type(api_token).objects.filter(pk=api_token.pk).update(last_used_at=now)
        return api_token
