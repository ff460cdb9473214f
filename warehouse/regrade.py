"""Re-encryption after a re-grade (G1, SEC3): the grade in force decides how a resource's data is stored.

Ingestion encrypts a new snapshot when any item's grade asks for encryption at rest. When a published
re-grade makes a resource need it, the snapshots already written in clear are re-written encrypted: the
same snapshot (id, version, rows), its content proven unchanged, one snapshot at a time:

1. outside any transaction (file work never holds the database's write lock): check the clear file
   against the snapshot's recorded SHA-256, write the encrypted copy to staging, fsync, read it back
   and compare its rows with the clear file's;
2. in one short transaction: move the copy to its own directory, point the snapshot row at it (path,
   file SHA-256, ``encrypted``) and audit it — a reader follows the committed row to the old file or the new one;
3. after the commit: remove the clear file (a crash before that leaves it unreferenced, for ``gongshu data gc``).

``Snapshot.sha256`` is the checksum of the file's bytes, which encryption changes; the content checksum
(``content_sha256``: the rows as one Arrow IPC stream) is what stays the same, and the audit event records
it with both file checksums. A lowered grade leaves encrypted snapshots encrypted.
"""

from __future__ import annotations

import hashlib

import pyarrow as pa
from django.db import transaction
from django.dispatch import receiver

from audit.services import record
from catalog.models import Resource
from catalog.signals import grades_changed
from foundation import permissions
from foundation.actor import Actor
from foundation.errors import Conflict

from . import crypto, storage
from .models import Snapshot


def content_sha256(table: pa.Table) -> str:
    """The checksum of a snapshot's rows, whatever the file's encryption: SHA-256 of the rows, in order,
    as one Arrow IPC stream (the schema without metadata, then one record batch)."""
    table = table.combine_chunks()
    table = table.replace_schema_metadata(None)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=max(table.num_rows, 1))
    return hashlib.sha256(sink.getvalue()).hexdigest()


def needs_encryption(resource: Resource) -> bool:
    """The rule ingestion applies: a resource is encrypted at rest when any item's grade in force asks for it."""
    return resource.items.filter(published_grade__encrypt_at_rest=True).exists()


def clear_snapshots(resource: Resource):
    return Snapshot.objects.filter(resource=resource, encrypted=False).order_by("version")


def encrypt_snapshots(actor: Actor, resource: Resource) -> list[int]:
    """Re-write every snapshot of ``resource`` still in clear, encrypted (when its grades ask for it);
    returns the versions re-written. Idempotent: a snapshot already encrypted is left alone."""
    if not needs_encryption(resource):
        return []
    done = []
    for snapshot in clear_snapshots(resource):
        if encrypt_snapshot(actor, snapshot):
            done.append(snapshot.version)
    return done


def encrypt_pending(actor: Actor) -> int:
    """Scheduled catch-up: any resource whose grades ask for encryption but that still has a snapshot in
    clear (a re-encryption interrupted, a batch checked before the re-grade and published after)."""
    permissions.require(actor, "warehouse.encrypt_pending")
    resources = Resource.objects.filter(items__published_grade__encrypt_at_rest=True,
                                        snapshots__encrypted=False).distinct()
    return sum(len(encrypt_snapshots(actor, resource)) for resource in resources)


def encrypt_snapshot(actor: Actor, snapshot: Snapshot) -> bool:
    """One snapshot re-written encrypted, atomically (see the module's steps). False if another worker did it
    first; Conflict if the clear file is not the one the snapshot recorded (nothing is changed then)."""
    if snapshot.encrypted:
        return False
    old = storage.absolute(snapshot.path)
    if storage.sha256_of(old) != snapshot.sha256:
        raise Conflict(f"快照 v{snapshot.version} 的文件与登记的校验值不符，未重新加密", field="snapshot",
                       code="snapshot_checksum")
    table = crypto.dataset(old, encrypted=False).to_table()
    content = content_sha256(table)
    staging, digest, rows = storage.stage(table, encrypt=True, keys=snapshot.key_columns)
    final = None
    try:
        written = crypto.dataset(staging / "data.parquet", encrypted=True).to_table()
        if rows != snapshot.row_count or not written.equals(table) or content_sha256(written) != content:
            raise Conflict(f"快照 v{snapshot.version} 加密后的内容与原内容不一致，未替换", field="snapshot",
                           code="snapshot_content")
        with transaction.atomic():
            locked = Snapshot.objects.select_for_update().select_related("resource").get(pk=snapshot.pk)
            if locked.encrypted or locked.path != snapshot.path:
                storage.discard(staging)
                return False
            final = storage.place(staging, locked.resource.code, locked.version)
            before = {"path": locked.path, "sha256": locked.sha256, "encrypted": False}
            locked.path, locked.sha256, locked.encrypted = storage.relative(final), digest, True
            locked.save(update_fields=["path", "sha256", "encrypted"])
            record(actor, "warehouse.encrypt_snapshot", locked, before=before,
                   after={"path": locked.path, "sha256": digest, "encrypted": True},
                   detail={"resource": locked.resource.code, "version": locked.version, "rows": rows,
                           "content_sha256": content, "reason": "regrade"})
            storage.failpoint("before_commit")
            transaction.on_commit(lambda: storage.discard(old))
    except BaseException:
        storage.discard(final or staging)
        raise
    return True


@receiver(grades_changed)
def encrypt_after_regrade(sender, resource, changes, actor, **kwargs):
    """A re-grade is published inside the catalog's transaction: once it commits, the resource's snapshots
    in clear are re-encrypted if the grades now ask for it. A failure there is logged and does not undo the
    re-grade (Django logs it); ``encrypt_pending`` catches up."""
    if needs_encryption(resource) and clear_snapshots(resource).exists():
        transaction.on_commit(lambda: encrypt_snapshots(actor, resource), robust=True)
