"""Per-record lookup by key (S4's "one citizen ID in 10 M rows"): snapshots are sorted by key with small
row groups, so the row-group statistics say which group can hold a key; decoded groups are kept in a
bounded in-process cache, and a key is found by binary search inside its group."""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings

from . import storage


class KeyIndex:
    def __init__(self, path, *, encrypted: bool, key: str):
        extra = {}
        if encrypted:
            from .crypto import decryption_properties

            extra["decryption_properties"] = decryption_properties()
        self.file = pq.ParquetFile(path, **extra)
        self.key = key
        position = self.file.schema_arrow.get_field_index(key)
        metadata = self.file.metadata
        self.lows, self.highs = [], []
        for i in range(metadata.num_row_groups):
            stats = metadata.row_group(i).column(position).statistics
            self.lows.append(stats.min if stats is not None and stats.has_min_max else None)
            self.highs.append(stats.max if stats is not None and stats.has_min_max else None)
        self.ordered = all(v is not None for v in self.lows) and self.lows == sorted(self.lows)
        self._groups: OrderedDict[int, tuple[pa.Table, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def _group(self, i: int) -> tuple[pa.Table, np.ndarray]:
        with self._lock:
            if i in self._groups:
                self._groups.move_to_end(i)
                return self._groups[i]
        table = self.file.read_row_group(i)
        # keys as fixed-width UTF-8 bytes: compact, and ordered as Parquet's statistics and str order them
        keys = np.array([k.encode() if k is not None else b"" for k in table.column(self.key).to_pylist()], dtype=bytes)
        with self._lock:
            self._groups[i] = (table, keys)
            while len(self._groups) > settings.GONGSHU_LOOKUP_CACHED_GROUPS:
                self._groups.popitem(last=False)
        return table, keys

    def find(self, values: list[str]) -> pa.Table:
        parts = []
        for value in values:
            raw = value.encode()
            if self.ordered:
                candidates = range(max(bisect.bisect_right(self.lows, value) - 1, 0), len(self.lows))
            else:
                candidates = range(len(self.lows))
            for i in candidates:
                if self.lows[i] is not None and self.lows[i] > value:
                    break
                if self.highs[i] is not None and self.highs[i] < value:
                    continue
                table, keys = self._group(i)
                if self.ordered:
                    start, stop = np.searchsorted(keys, raw, "left"), np.searchsorted(keys, raw, "right")
                    if stop > start:
                        parts.append(table.slice(start, stop - start))
                else:
                    parts.extend(table.slice(j, 1) for j in np.flatnonzero(keys == raw))
        if not parts:
            return self.file.schema_arrow.empty_table()
        return parts[0] if len(parts) == 1 else pa.concat_tables(parts)


@lru_cache(maxsize=64)
def _index(stored: str, encrypted: bool, key: str) -> KeyIndex:
    return KeyIndex(storage.absolute(stored), encrypted=encrypted, key=key)


def warm(snapshot, key: str) -> int:
    """Decode every row group into the cache (after publishing a lookup-heavy resource); returns the count."""
    index = _index(snapshot.path, snapshot.encrypted, key)
    count = min(len(index.lows), settings.GONGSHU_LOOKUP_CACHED_GROUPS)
    for i in range(count):
        index._group(i)
    return count


def find(snapshot, key: str, values: list[str]) -> pa.Table:
    """The raw rows of ``snapshot`` whose ``key`` is one of ``values`` (snapshots are immutable: cache freely)."""
    return _index(snapshot.path, snapshot.encrypted, key).find([str(v) for v in values])


def warm_all() -> int:
    """Warm the key index of every current single-key snapshot (a web worker about to serve lookups)."""
    from django.db.models import Max

    from .models import Snapshot

    latest = Snapshot.objects.values("resource_id").annotate(version=Max("version"))
    warmed = 0
    for row in latest:
        snapshot = Snapshot.objects.get(resource_id=row["resource_id"], version=row["version"])
        if len(snapshot.key_columns) == 1:
            warmed += warm(snapshot, snapshot.key_columns[0])
    return warmed
