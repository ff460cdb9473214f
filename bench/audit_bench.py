"""Audit chain: appending through the service vs a plain insert; verifying 100 k events vs reading them."""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

from audit import chain
from audit.models import ChainHead, Event
from audit.services import record, verify
from core.actor import system_actor

VERIFY_EVENTS = 100_000
APPEND_EVENTS = 3_000


def _bulk_chain(n: int) -> None:
    """Build a valid n-event chain fast (hashes computed exactly as record() does)."""
    head = ChainHead.objects.get(pk=1)
    prev, seq = head.hash, head.seq
    now = timezone.now()
    batch = []
    for i in range(n):
        seq += 1
        values = {
            "seq": seq, "at": now + dt.timedelta(microseconds=i), "actor_id": None, "actor_name": "bench",
            "organisation_id": 1, "organisation_name": "双鸭山市数据局", "channel": "system", "action": "bench.event",
            "object_type": "catalog.resource", "object_id": str(i % 977),
            "summary": {"after": {"name": f"资源{i}", "version": i % 7}}, "outcome": "ok", "request_id": "",
            "algorithm": "sm3", "prev_hash": prev,
        }
        values["hash"] = prev = chain.event_hash(values)
        batch.append(Event(**values))
        if len(batch) == 5000:
            Event.objects.bulk_create(batch)
            batch = []
    Event.objects.bulk_create(batch)
    ChainHead.objects.filter(pk=1).update(seq=seq, hash=prev)


def _plain_read() -> int:
    count = 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(("hash",) + chain.HASHED_FIELDS) + " FROM audit_event ORDER BY seq")
        while rows := cursor.fetchmany(5000):
            count += len(rows)
    return count


def run():
    import time

    actor = system_actor("bench")
    started = time.perf_counter()
    for i in range(APPEND_EVENTS):
        record(actor, "bench.append", ("bench.object", i), after={"i": i})
    ours_append = APPEND_EVENTS / (time.perf_counter() - started)

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_plain (id INTEGER PRIMARY KEY, at TEXT, action TEXT, object_id TEXT, summary TEXT)")
    started = time.perf_counter()
    for i in range(APPEND_EVENTS):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_plain (at, action, object_id, summary) VALUES (%s, %s, %s, %s)",
                           [timezone.now().isoformat(), "bench.append", str(i), '{"after": {"i": %d}}' % i])
    plain_append = APPEND_EVENTS / (time.perf_counter() - started)

    _bulk_chain(VERIFY_EVENTS - Event.objects.count())
    result = verify()
    assert result.ok and result.count == VERIFY_EVENTS, result
    started = time.perf_counter()
    assert _plain_read() == VERIFY_EVENTS
    plain_read = VERIFY_EVENTS / (time.perf_counter() - started)
    return [
        ("audit append (SM3 chain, 1 txn each) vs plain insert", ours_append, plain_append, "/s"),
        (f"audit verify {VERIFY_EVENTS // 1000}k events (SM3) vs plain read", result.rate, plain_read, "/s"),
    ]
