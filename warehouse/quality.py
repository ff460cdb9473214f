"""Quality checks of a batch (A3, SYS Art. 17), vectorised over Arrow columns.

Every check returns, per column, a boolean array "this row breaks the rule"; the batch keeps the row
numbers, values and rules of every problem for the error report.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Rule names as they appear in error reports.
MISSING, TYPE, CHECK_DIGIT, BIRTH_DATE, UNIQUE, CONSISTENCY = (
    "mandatory", "type", "check_digit", "birth_date", "unique", "consistency",
)
MESSAGES = {
    MISSING: "必填项为空",
    TYPE: "格式与数据项格式不符",
    CHECK_DIGIT: "校验位不正确",
    BIRTH_DATE: "出生日期无效",
    UNIQUE: "主键重复",
    CONSISTENCY: "与公民身份号码不一致",
}

# each rule's short name, as the batch page and the error report show it (the code stays in the data)
RULE_LABELS = {
    MISSING: "必填", TYPE: "格式", CHECK_DIGIT: "校验位", BIRTH_DATE: "出生日期", UNIQUE: "主键唯一",
    CONSISTENCY: "一致性", "reported": "比对发现",
}

_PATTERNS = {
    "integer": r"^[+-]?\d+$",
    "decimal": r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$",
    "datetime": r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$",
    "boolean": r"^(true|false|TRUE|FALSE|True|False|1|0|是|否)$",
}
_CID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_CID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64)
_USCC_VALUE = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(_USCC_ALPHABET):
    _USCC_VALUE[ord(_c)] = _i


@dataclass
class Column:
    column: str
    data_type: str = "string"
    required: bool = False
    is_key: bool = False
    identifier: str = ""  # citizen_id | uscc


@dataclass
class Problems:
    """Per rule and column, the rows that break it."""

    masks: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)

    def add(self, column: str, rule: str, mask) -> None:
        mask = _np(mask)
        if mask.any():
            key = (column, rule)
            self.masks[key] = self.masks[key] | mask if key in self.masks else mask

    def bad_rows(self, n: int) -> np.ndarray:
        bad = np.zeros(n, dtype=bool)
        for mask in self.masks.values():
            bad |= mask
        return bad


def _np(mask) -> np.ndarray:
    if isinstance(mask, np.ndarray):
        return mask
    if isinstance(mask, pa.ChunkedArray):
        mask = mask.combine_chunks()
    return np.asarray(mask.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def blank(values):
    """Which values are empty or only white space (a missing value, whatever the delivery wrote)."""
    return pc.or_(pc.equal(pc.binary_length(values), 0), pc.utf8_is_space(values))


def _fixed_width(values: pa.Array, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose value is exactly ``width`` ASCII characters, as an (n, width) uint8 matrix, and which rows."""
    fits = _np(pc.and_(pc.equal(pc.binary_length(values), width), pc.string_is_ascii(values)))
    if not fits.any():
        return np.zeros((0, width), np.uint8), fits
    chosen = values.filter(pa.array(fits))
    # Every chosen value is exactly `width` ASCII bytes, so their bytes are one contiguous block.
    offsets = np.frombuffer(chosen.buffers()[1], dtype=np.int64 if pa.types.is_large_string(chosen.type) else np.int32)
    start = offsets[chosen.offset]
    block = np.frombuffer(chosen.buffers()[2], dtype=np.uint8)[start : start + len(chosen) * width]
    return block.reshape(-1, width), fits


_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)


def _date_parts(digits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day from eight digit columns (YYYYMMDD)."""
    digits = digits.astype(np.int32)
    year = digits[:, 0] * 1000 + digits[:, 1] * 100 + digits[:, 2] * 10 + digits[:, 3]
    return year, digits[:, 4] * 10 + digits[:, 5], digits[:, 6] * 10 + digits[:, 7]


def _valid_dates(year, month, day) -> np.ndarray:
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    days = _MONTH_DAYS[np.clip(month, 0, 12)] + (leap & (month == 2))
    return (year >= 1800) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= days)


def citizen_id_invalid(values: pa.Array, today: dt.date | None = None, *, shaped=None) -> tuple[np.ndarray, np.ndarray]:
    """(bad check digit or shape, bad date of birth) for GB 11643 citizen IDs, in numpy over the raw bytes.
    ``shaped``: the column's ``_fixed_width(values, 18)`` if the caller already has it."""
    n = len(values)
    matrix, fits = shaped or _fixed_width(values, 18)
    digits = matrix[:, :17] - np.uint8(48)  # uint8: anything below '0' wraps above 9
    last = np.where(matrix[:, 17] == 120, 88, matrix[:, 17])  # a lower-case x is the same check character
    shape_ok = (digits <= 9).all(axis=1) & (((last >= 48) & (last <= 57)) | (last == 88))
    # the weighted sum in float32 goes through BLAS; every partial sum is a small exact integer
    weighted = (digits.astype(np.float32) @ _CID_WEIGHTS.astype(np.float32)).astype(np.int64)
    ok_check = shape_ok & (_CID_CHECK[weighted % 11] == last)
    check_bad = np.ones(n, dtype=bool)
    check_bad[fits] = ~ok_check
    year, month, day = _date_parts(digits[:, 6:14])
    today = today or dt.date.today()
    future = year * 10000 + month * 100 + day > today.year * 10000 + today.month * 100 + today.day
    birth_bad = np.zeros(n, dtype=bool)
    birth_bad[fits] = ok_check & (~_valid_dates(year, month, day) | future)
    return check_bad, birth_bad


def uscc_invalid(values: pa.Array) -> np.ndarray:
    """Rows that are not a valid GB 32100 USCC (check character), vectorised."""
    n = len(values)
    matrix, fits = _fixed_width(values, 18)
    codes = _USCC_VALUE[np.where((matrix >= 97) & (matrix <= 122), matrix - 32, matrix)]
    shape_ok = (codes >= 0).all(axis=1)
    expected = (31 - (codes[:, :17] * _USCC_WEIGHTS).sum(axis=1) % 31) % 31
    ok = shape_ok & (expected == codes[:, 17])
    bad = np.ones(n, dtype=bool)
    bad[fits] = ~ok
    return bad


def check(table: pa.Table, columns: list[Column], *, today: dt.date | None = None,
          order: np.ndarray | Callable[[], np.ndarray] | None = None, pool: Executor | None = None) -> Problems:
    """Every rule over every column of a batch (all values still text). ``order`` is the batch sorted by
    its key columns, if the caller has it (duplicates are then neighbours), or a callable that waits for
    it (the caller sorts while the other rules run). With a ``pool``, columns are checked in parallel."""
    problems = Problems()
    n = table.num_rows
    shapes: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
    lock = threading.Lock()

    def shaped(column: str, width: int):
        """A column's fixed-width byte matrix, computed once for every rule that needs it."""
        with lock:
            if (column, width) not in shapes:
                shapes[(column, width)] = _fixed_width(table.column(column).combine_chunks(), width)
            return shapes[(column, width)]

    def column_rules(spec: Column) -> list[tuple[str, str, np.ndarray]]:
        found = []
        values = table.column(spec.column).combine_chunks()
        present = _np(pc.invert(blank(values)))
        if spec.required:
            found.append((MISSING, ~present))
        if spec.data_type == "date":
            dates, fits = shaped(spec.column, 10)
            digits = dates[:, [0, 1, 2, 3, 5, 6, 8, 9]] - np.uint8(48)
            well_formed = (digits <= 9).all(axis=1) & (dates[:, 4] == 45) & (dates[:, 7] == 45)
            good = np.zeros(n, dtype=bool)
            good[fits] = well_formed & _valid_dates(*_date_parts(digits))
            found.append((TYPE, present & ~good))
        elif spec.data_type in _PATTERNS:
            found.append((TYPE, present & ~_np(pc.match_substring_regex(values, _PATTERNS[spec.data_type]))))
        if spec.identifier == "citizen_id":
            check_bad, birth_bad = citizen_id_invalid(values, today, shaped=shaped(spec.column, 18))
            found += [(CHECK_DIGIT, present & check_bad), (BIRTH_DATE, present & birth_bad)]
        elif spec.identifier == "uscc":
            found.append((CHECK_DIGIT, present & uscc_invalid(values)))
        return [(spec.column, rule, mask) for rule, mask in found]

    tasks = [lambda spec=spec: column_rules(spec) for spec in columns
             if spec.required or spec.identifier or spec.data_type != "string"]
    tasks.append(lambda: _consistency(table, columns, shaped))
    keys = [c.column for c in columns if c.is_key]
    if keys and n:
        tasks.append(lambda: [(keys[0], UNIQUE, duplicated(table, keys, order() if callable(order) else order))])
    for found in (pool.map(lambda task: task(), tasks) if pool else (task() for task in tasks)):
        for column, rule, mask in found:
            problems.add(column, rule, mask)
    return problems


def sort_order(table: pa.Table, keys: list[str]) -> np.ndarray:
    """Row order by key (stable, so equal keys keep their delivery order)."""
    if len(keys) == 1:
        number = _decimal_key(table.column(keys[0]).combine_chunks())
        if number is not None:
            return np.argsort(number, kind="stable")
    return pc.sort_indices(table, sort_keys=[(k, "ascending") for k in keys]).to_numpy()


def _decimal_key(values: pa.Array) -> np.ndarray | None:
    """Keys of one width, all digits but a last character that may be X or x (citizen IDs, codes), as
    int64 numbers in the same order as the text (base 12 for the last place: 0-9, X, x); None for any other
    column. Sorting these numbers is several times faster than sorting the text."""
    if not len(values) or values.null_count or not pa.types.is_string(values.type):
        return None
    lengths = pc.min_max(pc.binary_length(values))
    width = lengths["min"].as_py()
    if width != lengths["max"].as_py() or not 2 <= width <= 18:
        return None
    matrix, fits = _fixed_width(values, width)
    digits = matrix[:, :-1] - np.uint8(48)  # uint8: anything below '0' wraps above 9
    if not fits.all() or (digits > 9).any():
        return None
    last = matrix[:, -1]
    last = np.where(last == 88, 10, np.where(last == 120, 11, last.astype(np.int64) - 48))
    if ((last < 0) | (last > 11)).any():
        return None
    number = np.zeros(len(values), dtype=np.int64)
    for start in range(0, width - 1, 9):  # nine digits at a time stay exact in int64
        chunk = digits[:, start : start + 9].astype(np.int64)
        number = number * 10 ** chunk.shape[1] + chunk @ (10 ** np.arange(chunk.shape[1] - 1, -1, -1, dtype=np.int64))
    return number * 12 + last


def duplicated(table: pa.Table, keys: list[str], order: np.ndarray | None = None) -> np.ndarray:
    """Every occurrence of a key after its first."""
    if order is not None:
        ordered = table.select(keys).take(pa.array(order))  # only the key columns
        same = np.ones(len(order) - 1, dtype=bool) if len(order) > 1 else np.zeros(0, dtype=bool)
        for key in keys:
            column = ordered.column(key).combine_chunks()
            same &= _np(pc.equal(column.slice(1), column.slice(0, len(column) - 1)))
        repeat = np.zeros(len(order), dtype=bool)
        repeat[order[1:][same]] = True
        return repeat
    if len(keys) == 1:
        key = table.column(keys[0]).combine_chunks()
    else:
        key = pc.binary_join_element_wise(*[pc.cast(table.column(k), pa.string()) for k in keys], "\x1f")
    index = pa.array(np.arange(len(key)))
    first = pa.table({"k": key, "i": index}).group_by("k", use_threads=False).aggregate([("i", "min")])
    is_first = np.zeros(len(key), dtype=bool)
    is_first[first.column("i_min").to_numpy()] = True
    return ~is_first


def _consistency(table: pa.Table, columns: list[Column], shaped) -> list[tuple[str, str, np.ndarray]]:
    """A citizen ID carries the date of birth and the sex: other items must agree with it."""
    cid = next((c.column for c in columns if c.identifier == "citizen_id" and c.is_key), None)
    names = {c.column for c in columns}
    found = []
    if cid is None or not ({"birth_date", "gender"} & names):
        return found
    n = table.num_rows
    ids, id_fits = shaped(cid, 18)
    if "birth_date" in names:
        dates, date_fits = shaped("birth_date", 10)
        # compare YYYYMMDD of the ID with YYYY-MM-DD of the item, byte by byte, on rows where both have a shape
        if id_fits.all() and date_fits.all():  # the usual batch: every row has both, in the same order
            bad = (ids[:, 6:14] != dates[:, [0, 1, 2, 3, 5, 6, 8, 9]]).any(axis=1)
        else:
            both = id_fits & date_fits
            id_index = np.searchsorted(np.flatnonzero(id_fits), np.flatnonzero(both))
            date_index = np.searchsorted(np.flatnonzero(date_fits), np.flatnonzero(both))
            bad = np.zeros(n, dtype=bool)
            bad[both] = (ids[id_index][:, 6:14] != dates[date_index][:, [0, 1, 2, 3, 5, 6, 8, 9]]).any(axis=1)
        found.append(("birth_date", CONSISTENCY, bad))
    if "gender" in names:
        odd = np.zeros(n, dtype=bool)
        odd[id_fits] = (ids[:, 16] - 48) % 2 == 1
        given = table.column("gender").combine_chunks()
        male, female = _np(pc.equal(given, "男")), _np(pc.equal(given, "女"))
        found.append(("gender", CONSISTENCY, id_fits & ((male & ~odd) | (female & odd))))
    return found
