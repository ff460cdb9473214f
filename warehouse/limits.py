"""Limits of one engine run on the query path (DESIGN rule 3: "runs on the engine within time and memory
limits"): a time limit, a memory limit that counts the decrypted Arrow input as well as the engine's own
memory, a thread limit, and a cap on the runs at once on this machine, so that a web worker stays free
for everything else. The values are settings (``GONGSHU_QUERY_*``, platform defaults).

The cap is a pool of lock files in the data directory (``flock``), shared by the threads and the
processes of one instance: gunicorn's workers are processes, so a cap inside one process would not keep
another worker free. A lock held by a process that dies is released by the kernel."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pyarrow.parquet as pq
from django.conf import settings

from foundation.errors import GongshuError, TooManyRequests

MIB = 1 << 20
ENGINE_FLOOR = 16 * MIB  # the least an engine is given beside its input: below that, nothing useful runs


class QueryLimit(GongshuError):
    """A run that would exceed, or exceeded, a limit of the query path (``query_too_large``,
    ``query_timeout``): refused and audited, nothing returned. A narrower query may pass."""

    code = "query_too_large"
    status = 422


class EngineBusy(TooManyRequests):
    """Every engine slot of this instance stayed taken while the run waited: the server is busy, not the
    caller at fault (503, with Retry-After)."""

    code = "engine_busy"
    status = 503


def too_slow() -> QueryLimit:
    seconds = settings.GONGSHU_QUERY_TIMEOUT_SECONDS
    return QueryLimit(f"查询超过 {seconds:g} 秒的执行时限，已终止：请缩小范围或加上条件", field="sql", code="query_timeout")


def too_large(detail: str = "") -> QueryLimit:
    return QueryLimit(f"查询超过 {settings.GONGSHU_QUERY_MEMORY_MB} MB 的内存限额{detail}，已拒绝：请缩小范围或减少数据项",
                      field="sql", code="query_too_large")


@dataclass(frozen=True)
class Budget:
    """What one engine run may use: seconds, bytes of engine memory (the limit less its input), threads."""

    seconds: float
    memory: int
    threads: int


def budget(input_bytes: int) -> Budget:
    """The run's budget once ``input_bytes`` of decrypted Arrow data are counted; refused before anything
    is decrypted when the input alone leaves the engine too little."""
    memory = settings.GONGSHU_QUERY_MEMORY_MB * MIB - input_bytes
    if memory < ENGINE_FLOOR:
        raise too_large(f"（所读数据解密后约 {input_bytes / MIB:.0f} MB）")
    return Budget(settings.GONGSHU_QUERY_TIMEOUT_SECONDS, memory, max(1, settings.GONGSHU_QUERY_THREADS))


def input_bytes(path: Path, *, encrypted: bool, rows: int, columns: set[str]) -> int:
    """The Arrow size of ``columns`` of a snapshot of ``rows`` rows, decoded as the engine reads them:
    measured on its first row group (at most 16 Ki rows), kept per snapshot (snapshots are immutable)."""
    per_row = _bytes_per_row(str(path), encrypted)
    return int(rows * sum(per_row.get(column, 0.0) for column in columns))


@lru_cache(maxsize=512)
def _bytes_per_row(path: str, encrypted: bool) -> dict[str, float]:
    extra = {}
    if encrypted:
        from .crypto import decryption_properties

        extra["decryption_properties"] = decryption_properties()
    file = pq.ParquetFile(path, **extra)
    if file.metadata.num_row_groups == 0:
        return {}
    sample = file.read_row_group(0)
    if sample.num_rows == 0:
        return {}
    return {name: sample.column(name).nbytes / sample.num_rows for name in sample.column_names}


@contextlib.contextmanager
def slot():
    """Hold one of GONGSHU_QUERY_CONCURRENCY engine slots for the run; wait for one up to
    GONGSHU_QUERY_QUEUE_SECONDS, then refuse (``engine_busy``)."""
    folder = Path(settings.GONGSHU_DATA_DIR) / "run"
    folder.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + settings.GONGSHU_QUERY_QUEUE_SECONDS
    while True:
        fd = _take(folder, max(1, settings.GONGSHU_QUERY_CONCURRENCY))
        if fd is not None:
            break
        if time.monotonic() >= deadline:
            raise EngineBusy("查询引擎繁忙，请稍后重试", retry_after=max(1, round(settings.GONGSHU_QUERY_TIMEOUT_SECONDS / 2)))
        time.sleep(0.02)
    try:
        yield
    finally:
        os.close(fd)  # releases the lock


def _take(folder: Path, slots: int) -> int | None:
    """An open, locked slot file, or None when every slot is held (each open is its own lock owner, so
    threads of one process exclude each other as processes do)."""
    for i in range(slots):
        fd = os.open(folder / f"engine-{i}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            os.close(fd)
    return None
