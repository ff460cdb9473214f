"""The usage log (A6, SYS Art. 20), kept from the audit chain.

Every read through the query path appends one audit event in its own transaction (that event is the
caller's receipt) and nothing else; the event holds everything the usage log records. The rows of the
usage log are copied from those events in batches: by the worker every second, and by every reader of
the log before it reads (``logs()``), so a reader never sees the log behind the chain, and a lookup pays
for one row and its indexes, not two.
"""

from __future__ import annotations

import json

from django.db import transaction
from django.db.models import QuerySet

from audit.models import Event
from catalog.models import Resource
from core import rawdb
from core.models import Organisation, User

from .models import Snapshot, UsageLog, UsageProgress

ACTION = "warehouse.query"
_BATCH = 5000


def _behind() -> bool:
    with rawdb.cursor() as cursor:
        cursor.execute("SELECT seq FROM audit_chainhead WHERE id = 1")
        head = cursor.fetchone()
        cursor.execute("SELECT seq FROM warehouse_usageprogress WHERE id = 1")
        done = cursor.fetchone()
    return head is not None and (done is None or done[0] < head[0])


def catch_up() -> int:
    """Copy the reads recorded since the last call into the usage log; returns how many rows were added."""
    if not _behind():  # the usual case for a reader: one indexed read of two single-row tables
        return 0
    added = 0
    with transaction.atomic():
        progress, _ = UsageProgress.objects.select_for_update().get_or_create(pk=1)
        events = (Event.objects.filter(seq__gt=progress.seq).order_by("seq")
                  .values_list("seq", "at", "actor_id", "organisation_id", "object_id", "summary", "action", "outcome"))
        last = progress.seq
        batch: list[UsageLog] = []
        for seq, at, user, organisation, resource, summary, action, outcome in events.iterator(chunk_size=_BATCH):
            last = seq
            if action == ACTION and outcome == Event.Outcome.OK:
                read = json.loads(summary)
                batch.append(UsageLog(
                    at=at, user_id=user, organisation_id=organisation, resource_id=int(resource),
                    snapshot_id=read.get("snapshot_id"), purpose=read["purpose"], scope=read["scope"],
                    grant_ref=read.get("grant") or "", items=read["items"], row_count=read["rows"],
                    channel=read.get("channel", ""), query=read.get("query", ""), audit_seq=seq,
                ))
            if len(batch) >= _BATCH:
                added += _insert(batch)
                batch = []
        added += _insert(batch)
        progress.seq = last
        progress.save(update_fields=["seq"])
    return added


def _insert(rows: list[UsageLog]) -> int:
    """Rows whose user or snapshot has gone since the read keep the rest of the record."""
    if not rows:
        return 0
    users = set(User.objects.filter(pk__in={r.user_id for r in rows if r.user_id}).values_list("pk", flat=True))
    snapshots = set(Snapshot.objects.filter(pk__in={r.snapshot_id for r in rows if r.snapshot_id}).values_list("pk", flat=True))
    organisations = set(Organisation.objects.filter(pk__in={r.organisation_id for r in rows if r.organisation_id})
                        .values_list("pk", flat=True))
    resources = set(Resource.objects.filter(pk__in={r.resource_id for r in rows}).values_list("pk", flat=True))
    kept = []
    for row in rows:
        row.user_id = row.user_id if row.user_id in users else None
        row.snapshot_id = row.snapshot_id if row.snapshot_id in snapshots else None
        row.organisation_id = row.organisation_id if row.organisation_id in organisations else None
        if row.resource_id in resources:
            kept.append(row)
    UsageLog.objects.bulk_create(kept, batch_size=1000)
    return len(kept)


def logs() -> QuerySet:
    """The usage log, brought up to date with the chain first."""
    catch_up()
    return UsageLog.objects.all()
