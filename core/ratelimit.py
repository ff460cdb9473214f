"""One rate limiter for the whole platform (P3, SYS Art. 60): uses counted per key in fixed windows, summed
over every web and worker process, a use past the limit refused with ``TooManyRequests`` (429 + Retry-After).

A key names who is counted: ``token:<id>`` for a credential, ``address:<client address>`` for requests
without one; a later quota counts ``quota:<entitlement>`` the same way::

    ratelimit.hit(f"token:{token.pk}", limit=6000, window_seconds=60)        # raises TooManyRequests
    ratelimit.hit(f"quota:{ref}", limit=10_000, window_seconds=86_400, code="quota_exceeded", message="…")

``tally`` counts without a limit, for a report that ``take`` collects later (e.g. unauthenticated refusals,
one audit event per address and minute).

Cost on the hot path: a use is counted in this process's memory; the process adds what it counted to the
shared row (``core_ratecount``, one upsert per key, which also returns every other process's uses) at most
every ``SYNC_SECONDS``, or at once when its own uncounted uses reach a twentieth of the limit. A process so
sees the others' uses at most one sync late: with P processes the limit can be passed by at most
(P - 1) x min(limit / 20, their uses per sync); a small limit (below 40) is synced on every use before it is
answered, so it holds exactly. Windows are fixed (a burst may straddle two); counts live in the database, so
they hold across processes and restarts, without another server.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings

from foundation import rawdb
from foundation.errors import TooManyRequests

SYNC_SECONDS = 1.0
PURGE_SECONDS = 60.0  # ended windows (not tallies) are removed from the table at most this often per process

_UPSERT = ("INSERT INTO core_ratecount (name, window_start, ends_at, count, tally) VALUES (%s, %s, %s, %s, %s) "
           "ON CONFLICT (name, window_start) DO UPDATE SET count = core_ratecount.count + excluded.count RETURNING count")
_PURGE = "DELETE FROM core_ratecount WHERE ends_at < %s AND NOT tally"
_ANY = "SELECT 1 FROM core_ratecount WHERE tally AND ends_at <= %s AND name LIKE %s ESCAPE '\\' LIMIT 1"
_TAKE = ("DELETE FROM core_ratecount WHERE tally AND ends_at <= %s AND name LIKE %s ESCAPE '\\' "
         "RETURNING name, window_start, ends_at, count")


@dataclass
class _Window:
    start: int  # Unix seconds
    ends: int
    step: int  # sync once this many of our uses are not yet in the shared count
    tally: bool
    seen: int = 0  # the shared count at our last sync (every process's uses, ours included)
    pending: int = 0  # our uses since


@dataclass(frozen=True)
class Count:
    name: str
    window_start: int
    ends_at: int
    count: int


_lock = threading.Lock()
_windows: dict[str, _Window] = {}
_ended: list[tuple[str, _Window]] = []  # windows that ended with uses not yet synced
_synced_at = 0.0
_purged_at = 0.0


def hit(key: str, *, limit: int, window_seconds: int, code: str = "rate_limited", message: str | None = None) -> int:
    """Count one use of ``key``; refuse it when ``limit`` uses already fall in the current window of
    ``window_seconds`` (windows start at multiples of it, in Unix time). Returns the uses in the window so far.
    A limit of 0 or less: no limit."""
    if limit <= 0:
        return 0
    now = time.time()
    with _lock:
        window = _window(key, now, window_seconds, step=max(1, limit // 20), tally=False)
        if window.seen + window.pending >= limit:  # used up, as far as this process knows: no write
            raise _refusal(window, now, code, message)
        window.pending += 1
        if window.pending >= window.step or now - _synced_at >= SYNC_SECONDS:
            _sync(now)
            if window.seen > limit:  # the other processes used it up meanwhile (exact when step is 1)
                raise _refusal(window, now, code, message)
        return window.seen + window.pending


def tally(key: str, *, window_seconds: int = 60) -> None:
    """Count one event of ``key`` in its window, kept until ``take`` collects it (no limit)."""
    now = time.time()
    with _lock:
        window = _window(key, now, window_seconds, step=0, tally=True)
        window.pending += 1
        if now - _synced_at >= SYNC_SECONDS:
            _sync(now)


def flush() -> None:
    """Add this process's uncounted uses to the shared counts now (before a report, at exit)."""
    with _lock:
        _sync(time.time())


def _like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def ended(prefix: str, *, ended_before: float) -> bool:
    """Whether a tally named ``prefix…`` has a window that ended by ``ended_before``: a read, to ask often."""
    with rawdb.cursor() as cursor:
        cursor.execute(rawdb.sql(_ANY), [int(ended_before), _like(prefix)])
        return cursor.fetchone() is not None


def take(prefix: str, *, ended_before: float) -> list[Count]:
    """The tallies named ``prefix…`` whose window ended by ``ended_before`` (Unix seconds), removed from the
    table: call it in the transaction that records them, so a count is reported once and never lost."""
    with rawdb.transaction() as cursor:
        cursor.execute(rawdb.sql(_TAKE), [int(ended_before), _like(prefix)])
        rows = cursor.fetchall()
    return sorted((Count(*row) for row in rows), key=lambda c: (c.window_start, c.name))


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or, when that is one of GONGSHU_TRUSTED_PROXIES, the nearest
    address in X-Forwarded-For that is not a trusted proxy. Behind a proxy that is not listed every request
    seems to come from the proxy, and all clients share one limit."""
    remote = request.META.get("REMOTE_ADDR") or "unknown"
    proxies = settings.GONGSHU_TRUSTED_PROXIES
    if remote in proxies:
        for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
            hop = hop.strip()
            if hop and hop not in proxies:
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    break  # a forged or garbled entry: the proxy is the last address known
    return remote


def reset() -> None:
    """Forget this process's counts (tests)."""
    global _synced_at, _purged_at
    with _lock:
        _windows.clear()
        _ended.clear()
        _synced_at = _purged_at = 0.0


def _refusal(window: _Window, now: float, code: str, message: str | None) -> TooManyRequests:
    retry = max(1, math.ceil(window.ends - now))
    return TooManyRequests(message or f"请求过于频繁，请 {retry} 秒后重试", retry_after=retry, code=code)


def _window(key: str, now: float, seconds: int, *, step: int, tally: bool) -> _Window:
    start = int(now // seconds * seconds)
    window = _windows.get(key)
    if window is None or window.start != start:
        if window is not None and window.pending:
            _ended.append((key, window))
        window = _windows[key] = _Window(start, start + seconds, step, tally)
    return window


def _sync(now: float) -> None:
    """One transaction: every window with uses not yet shared is added to its row and learns the total."""
    global _synced_at, _purged_at
    due = _ended + [(key, w) for key, w in _windows.items() if w.pending]
    purge = now - _purged_at >= PURGE_SECONDS
    if due or purge:
        upsert = rawdb.sql(_UPSERT)
        with rawdb.transaction() as cursor:
            for key, window in due:
                cursor.execute(upsert, [key, window.start, window.ends, window.pending, window.tally])
                window.seen = cursor.fetchone()[0]
            if purge:
                cursor.execute(rawdb.sql(_PURGE), [int(now)])
        for _, window in due:  # only once the counts are committed (or in the caller's transaction)
            window.pending = 0
        _ended.clear()
        if purge:
            _purged_at = now
            for key in [k for k, w in _windows.items() if w.ends < now]:
                del _windows[key]
    _synced_at = now
