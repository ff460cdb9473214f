"""Snapshots on disk (A4): immutable Parquet files, published by an atomic rename and then a database row.

A reader only ever follows a committed ``Snapshot`` row, so it sees the old snapshot or the new one.
A crash before the row commits leaves at most an unreferenced directory (``gongshu data gc`` removes
it) and never touches earlier snapshots.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings

ROW_GROUP_SIZE = 16 * 1024  # small groups: a key lookup decodes little


def root() -> Path:
    return Path(settings.GONGSHU_WAREHOUSE_DIR)


def failpoint(name: str) -> None:
    """Crash-test hook: GONGSHU_FAILPOINT=<name> kills this process (SIGKILL) at that point."""
    if os.environ.get("GONGSHU_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def stage(table: pa.Table, *, encrypt: bool = False) -> tuple[Path, str]:
    """Write ``table`` (sorted by key by the caller, so row-group statistics find a key fast) into a
    staging directory, encrypted when the grade asks for it."""
    staging = root() / "_staging" / uuid.uuid4().hex
    staging.mkdir(parents=True)
    path = staging / "data.parquet"
    extra = {}
    if encrypt:
        from .crypto import encryption_properties

        extra["encryption_properties"] = encryption_properties()
    pq.write_table(table, path, row_group_size=ROW_GROUP_SIZE, compression="zstd", write_statistics=True, **extra)
    failpoint("after_write")
    _fsync(path)
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return staging, digest.hexdigest()


def place(staging: Path, resource_code: str, version: int) -> Path:
    """Move a staged snapshot to its final, immutable place (one atomic rename)."""
    final = root() / resource_code / f"v{version:06d}-{staging.name[:8]}"
    final.parent.mkdir(parents=True, exist_ok=True)
    os.rename(staging, final)
    _fsync(final.parent)
    failpoint("after_rename")
    return final / "data.parquet"


def discard(path: Path) -> None:
    shutil.rmtree(path if path.is_dir() else path.parent, ignore_errors=True)


def relative(path: Path) -> str:
    return str(path.relative_to(root()))


def absolute(stored: str) -> Path:
    return root() / stored


def unreferenced(referenced: set[str]) -> list[Path]:
    """Snapshot directories (and staging leftovers) no committed snapshot points to."""
    found = []
    if not root().exists():
        return found
    for directory in root().iterdir():
        if not directory.is_dir():
            continue
        for child in directory.iterdir():
            if directory.name == "_staging" or relative(child / "data.parquet") not in referenced:
                found.append(child)
    return found
