"""Snapshots on disk (A4): immutable Parquet files, published by an atomic rename and then a database row.

A reader only ever follows a committed ``Snapshot`` row, so it sees the old snapshot or the new one.
A crash before the row commits leaves at most an unreferenced directory (``gongshu data gc`` removes
it) and never touches earlier snapshots.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import signal
import uuid
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
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


def repeating(table: pa.Table) -> list[str]:
    """The columns whose values repeat (code lists, districts): at most one distinct value in ten in the
    first row group's worth of rows. Already dictionary-encoded columns count as repeating."""
    sample = table.slice(0, ROW_GROUP_SIZE)
    return [field.name for field in table.schema if pa.types.is_dictionary(field.type)
            or pc.count_distinct(sample.column(field.name)).as_py() <= max(sample.num_rows // 10, 1)]


def _text(type_: pa.DataType) -> bool:
    if pa.types.is_dictionary(type_):
        type_ = type_.value_type
    return pa.types.is_string(type_) or pa.types.is_large_string(type_)


def _layout(table: pa.Table, keys: list[str]) -> dict:
    """Dictionary-encode only the columns that repeat, and keep min/max statistics for the key columns (a
    key lookup needs them) and non-text columns: per-value dictionaries and text statistics of unique
    columns cost write time and save nothing. The Arrow schema is not stored: a column written from
    dictionary codes reads back as plain text, like every other."""
    stats = [f.name for f in table.schema if f.name in keys or not _text(f.type)]
    return {"use_dictionary": repeating(table), "write_statistics": stats, "store_schema": False}


def stage(table: pa.Table | Iterable[pa.Table], *, encrypt: bool = False, keys: list[str] = ()) -> tuple[Path, str, int]:
    """Write ``table`` (sorted by key by the caller, so row-group statistics find a key fast) into a
    staging directory, encrypted when the grade asks for it. ``table`` may be an iterable of parts with
    one schema, written as they come (the caller prepares the next part while this one is written).
    Returns the directory, the file's SHA-256 and the row count."""
    staging = root() / "_staging" / uuid.uuid4().hex
    staging.mkdir(parents=True)
    path = staging / "data.parquet"
    extra = {}
    if encrypt:
        from .crypto import encryption_properties

        extra["encryption_properties"] = encryption_properties()
    parts = iter([table] if isinstance(table, pa.Table) else table)
    rows = 0
    try:
        first = next(parts)
        with pq.ParquetWriter(path, first.schema, compression="zstd", **_layout(first, list(keys)), **extra) as writer:
            for part in itertools.chain([first], parts):
                writer.write_table(part, row_group_size=ROW_GROUP_SIZE)
                rows += part.num_rows
    except BaseException:
        discard(staging)
        raise
    failpoint("after_write")
    _fsync(path)
    return staging, sha256_of(path), rows


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
