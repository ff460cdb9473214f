"""Backups of metadata and data (A4), verified by checksums.

A backup is a directory: ``metadata.json`` (every row, as Django fixtures with natural keys, so it
restores into SQLite or PostgreSQL alike), ``warehouse/`` (the snapshot files, immutable), and
``manifest.json`` (each file's SHA-256, the audit chain head). Keys are not in a backup: they are kept
and backed up apart from the data, and encrypted snapshots need them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

EXCLUDE = ["contenttypes", "auth.permission", "sessions", "admin.logentry", "axes"]


class BackupError(Exception):
    pass


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def create(dest: Path, *, echo=print) -> dict:
    from audit.models import ChainHead
    from warehouse.models import Snapshot

    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    with (dest / "metadata.json").open("w", encoding="utf-8") as fh:
        call_command("dumpdata", natural_foreign=True, natural_primary=True, exclude=EXCLUDE, stdout=fh, indent=None)
    echo("metadata written")
    warehouse = Path(settings.GONGSHU_WAREHOUSE_DIR)
    for stored in Snapshot.objects.values_list("path", flat=True):
        target = dest / "warehouse" / stored
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(warehouse / stored, target)
    files = {str(p.relative_to(dest)): _sha256(p) for p in sorted(dest.rglob("*")) if p.is_file()}
    head = ChainHead.objects.filter(pk=1).first()
    manifest = {
        "created_at": timezone.now().isoformat(), "database": connection.vendor, "files": files,
        "audit_head": {"seq": head.seq, "hash": head.hash} if head else None,
        "snapshots": Snapshot.objects.count(),
    }
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    echo(f"{len(files)} files, {manifest['snapshots']} snapshots, audit head #{manifest['audit_head']['seq'] if head else 0}")
    return manifest


def verify(src: Path) -> dict:
    """Every file present and unchanged, as the manifest says."""
    manifest_path = src / "manifest.json"
    if not manifest_path.exists():
        raise BackupError(f"{src} has no manifest.json")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for name, digest in manifest["files"].items():
        path = src / name
        if not path.exists():
            raise BackupError(f"missing: {name}")
        if _sha256(path) != digest:
            raise BackupError(f"changed: {name}")
    return manifest


def restore(src: Path, *, echo=print) -> dict:
    """Into an empty, migrated database and an empty warehouse; refuses a backup that does not verify."""
    from audit.services import verify as verify_chain
    from catalog.models import Resource

    manifest = verify(src)
    if Resource.objects.exists():
        raise BackupError("the database is not empty: restore needs a fresh, migrated database")
    warehouse = Path(settings.GONGSHU_WAREHOUSE_DIR)
    if warehouse.exists() and any(p for p in warehouse.rglob("*.parquet")):
        raise BackupError(f"the warehouse {warehouse} is not empty")
    # Reference data that migrations create is replaced by the backup's own rows.
    from audit.models import ChainHead
    from core.models import CalendarDay
    from grading.models import Category, Grade

    with transaction.atomic():  # all rows or none
        ChainHead.objects.all().delete()
        CalendarDay.objects.all().delete()
        Category.objects.filter(parent__isnull=False).delete()
        Category.objects.all().delete()
        Grade.objects.all().delete()
        call_command("loaddata", str(src / "metadata.json"), verbosity=0)
    echo("metadata restored")
    if (src / "warehouse").exists():
        shutil.copytree(src / "warehouse", warehouse, dirs_exist_ok=True)
    result = verify_chain()
    if not result.ok:
        raise BackupError(f"restored audit chain does not verify: {result.reason}")
    echo(f"audit chain verified: {result.count} events")
    return manifest
