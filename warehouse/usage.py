"""The usage log (A6, SYS Art. 20), kept from the audit chain.

Every read through the query path appends one audit event in its own transaction (that event is the
caller's receipt) and nothing else; the event holds everything the usage log records. The rows of the
usage log are copied from those events in batches: by the worker every second, and by every reader of
the log before it reads (``logs()``), so a reader never sees the log behind the chain, and a lookup pays
for one row and its indexes, not two.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import QuerySet

from audit.models import Event
from foundation import rawdb

from .models import UsageLog, UsageProgress

ACTION = "warehouse.query"

# One statement copies every read since the last copy: the database reads the event's JSON itself (no
# Python per row). A user, organisation or snapshot gone since the read leaves its column empty; a read
# of a resource gone since is not copied.
_COLUMNS = ("at, user_id, organisation_id, resource_id, snapshot_id, purpose, scope, grant_ref, items, row_count, "
            "channel, query, audit_seq")
_COPY = {
    "sqlite": f"""
        INSERT INTO warehouse_usagelog ({_COLUMNS})
        SELECT e.at,
               (SELECT id FROM core_user WHERE id = e.actor_id),
               (SELECT id FROM core_organisation WHERE id = e.organisation_id),
               r.id,
               (SELECT id FROM warehouse_snapshot WHERE id = e.summary ->> '$.snapshot_id'),
               e.summary ->> '$.purpose', e.summary ->> '$.scope', COALESCE(e.summary ->> '$.grant', ''),
               e.summary -> '$.items', e.summary ->> '$.rows', COALESCE(e.summary ->> '$.channel', ''),
               COALESCE(e.summary ->> '$.query', ''), e.seq
        FROM audit_event e JOIN catalog_resource r ON r.id = CAST(e.object_id AS INTEGER)
        WHERE e.seq > %s AND e.seq <= %s AND e.action = %s AND e.outcome = %s
        ORDER BY e.seq""",
    "postgresql": f"""
        INSERT INTO warehouse_usagelog ({_COLUMNS})
        SELECT e.at,
               (SELECT id FROM core_user WHERE id = e.actor_id),
               (SELECT id FROM core_organisation WHERE id = e.organisation_id),
               r.id,
               (SELECT id FROM warehouse_snapshot WHERE id = (j ->> 'snapshot_id')::bigint),
               j ->> 'purpose', j ->> 'scope', COALESCE(j ->> 'grant', ''), j -> 'items', (j ->> 'rows')::bigint,
               COALESCE(j ->> 'channel', ''), COALESCE(j ->> 'query', ''), e.seq
        FROM audit_event e CROSS JOIN LATERAL (SELECT e.summary::jsonb AS j) AS parsed
             JOIN catalog_resource r ON r.id::text = e.object_id
        WHERE e.seq > %s AND e.seq <= %s AND e.action = %s AND e.outcome = %s
        ORDER BY e.seq""",
}


def _behind() -> tuple[int, int] | None:
    """(copied up to, chain head) when the log is behind the chain; None when it is not."""
    with rawdb.cursor() as cursor:
        cursor.execute("SELECT seq FROM audit_chainhead WHERE id = 1")
        head = cursor.fetchone()
        cursor.execute("SELECT seq FROM warehouse_usageprogress WHERE id = 1")
        done = cursor.fetchone()
    if head is None or (done is not None and done[0] >= head[0]):
        return None
    return (done[0] if done else 0), head[0]


def catch_up() -> int:
    """Copy the reads recorded since the last call into the usage log; returns how many rows were added."""
    if _behind() is None:  # the usual case for a reader: one indexed read of two single-row tables
        return 0
    with transaction.atomic():
        UsageProgress.objects.select_for_update().get_or_create(pk=1)
        behind = _behind()  # again, now that no other copier can move the progress row
        if behind is None:
            return 0
        done, head = behind
        with rawdb.cursor() as cursor:
            cursor.execute(rawdb.sql(_COPY[connection.vendor]), [done, head, ACTION, Event.Outcome.OK.value])
            added = cursor.rowcount
        UsageProgress.objects.filter(pk=1).update(seq=head)
    return added


def logs() -> QuerySet:
    """The usage log, brought up to date with the chain first."""
    catch_up()
    return UsageLog.objects.all()
