"""Quality checks of a batch (A3, SYS Art. 17), vectorised over Arrow columns.

Every check returns, per column, a boolean array "this row breaks the rule"; the batch keeps the row
numbers, values and rules of every problem for the error report.
"""

from __future__ import annotations

import datetime as dt
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

_PATTERNS = {
    "integer": r"^[+-]?\d+$",
    "decimal": r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$",
    "date": r"^\d{4}-\d{2}-\d{2}$",
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


def _fixed_width(values: pa.Array, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose value is exactly ``width`` ASCII characters, as an (n, width) uint8 matrix, and which rows."""
    values = pc.utf8_upper(values)
    fits = _np(pc.and_(pc.equal(pc.utf8_length(values), width), pc.string_is_ascii(values)))
    if not fits.any():
        return np.zeros((0, width), np.uint8), fits
    chosen = values.filter(pa.array(fits))
    # Every chosen value is exactly `width` ASCII bytes, so their bytes are one contiguous block.
    offsets = np.frombuffer(chosen.buffers()[1], dtype=np.int64 if pa.types.is_large_string(chosen.type) else np.int32)
    start = offsets[chosen.offset]
    block = np.frombuffer(chosen.buffers()[2], dtype=np.uint8)[start : start + len(chosen) * width]
    return block.reshape(-1, width), fits


def citizen_id_invalid(values: pa.Array, today: dt.date | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(bad check digit or shape, bad date of birth) for GB 11643 citizen IDs, vectorised."""
    n = len(values)
    matrix, fits = _fixed_width(values, 18)
    digits = matrix[:, :17].astype(np.int64) - 48
    shape_ok = ((digits >= 0) & (digits <= 9)).all(axis=1) & (((matrix[:, 17] >= 48) & (matrix[:, 17] <= 57)) | (matrix[:, 17] == 88))
    expected = _CID_CHECK[(digits * _CID_WEIGHTS).sum(axis=1) % 11]
    ok_check = shape_ok & (expected == matrix[:, 17])
    check_bad = np.ones(n, dtype=bool)
    check_bad[fits] = ~ok_check
    birth_bad = np.zeros(n, dtype=bool)
    if len(matrix):
        births = pc.utf8_slice_codeunits(pc.utf8_upper(values).filter(pa.array(fits)), 6, 14)
        parsed = pc.strptime(births, format="%Y%m%d", unit="s", error_is_null=True)
        limit = pa.scalar(dt.datetime.combine(today or dt.date.today(), dt.time()), pa.timestamp("s"))
        bad = _np(pc.or_kleene(pc.is_null(parsed), pc.greater(parsed, limit)))
        birth_bad[fits] = bad & ok_check
    return check_bad, birth_bad


def uscc_invalid(values: pa.Array) -> np.ndarray:
    """Rows that are not a valid GB 32100 USCC (check character), vectorised."""
    n = len(values)
    matrix, fits = _fixed_width(values, 18)
    codes = _USCC_VALUE[matrix]
    shape_ok = (codes >= 0).all(axis=1)
    expected = (31 - (codes[:, :17] * _USCC_WEIGHTS).sum(axis=1) % 31) % 31
    ok = shape_ok & (expected == codes[:, 17])
    bad = np.ones(n, dtype=bool)
    bad[fits] = ~ok
    return bad


def check(table: pa.Table, columns: list[Column], *, today: dt.date | None = None) -> Problems:
    """Every rule over every column of a batch (all values still text)."""
    problems = Problems()
    n = table.num_rows
    for spec in columns:
        values = table.column(spec.column).combine_chunks()
        present = pc.and_(pc.is_valid(values), pc.not_equal(pc.utf8_trim_whitespace(values), ""))
        present_np = _np(present)
        if spec.required:
            problems.add(spec.column, MISSING, ~present_np)
        pattern = _PATTERNS.get(spec.data_type)
        if pattern:
            matches = _np(pc.match_substring_regex(values, pattern))
            problems.add(spec.column, TYPE, present_np & ~matches)
            if spec.data_type == "date":
                parsed = pc.strptime(values, format="%Y-%m-%d", unit="s", error_is_null=True)
                problems.add(spec.column, TYPE, present_np & matches & ~_np(pc.is_valid(parsed)))
        if spec.identifier == "citizen_id":
            check_bad, birth_bad = citizen_id_invalid(values, today)
            problems.add(spec.column, CHECK_DIGIT, present_np & check_bad)
            problems.add(spec.column, BIRTH_DATE, present_np & birth_bad)
        elif spec.identifier == "uscc":
            problems.add(spec.column, CHECK_DIGIT, present_np & uscc_invalid(values))
    keys = [c.column for c in columns if c.is_key]
    if keys and n:
        problems.add(keys[0], UNIQUE, duplicated(table, keys))
    _consistency(table, columns, problems)
    return problems


def duplicated(table: pa.Table, keys: list[str]) -> np.ndarray:
    """Every occurrence of a key after its first."""
    if len(keys) == 1:
        key = table.column(keys[0]).combine_chunks()
    else:
        key = pc.binary_join_element_wise(*[pc.cast(table.column(k), pa.string()) for k in keys], "\x1f")
    index = pa.array(np.arange(len(key)))
    first = pa.table({"k": key, "i": index}).group_by("k", use_threads=False).aggregate([("i", "min")])
    is_first = np.zeros(len(key), dtype=bool)
    is_first[first.column("i_min").to_numpy()] = True
    return ~is_first


def _consistency(table: pa.Table, columns: list[Column], problems: Problems) -> None:
    """A citizen ID carries the date of birth and the sex: other items must agree with it."""
    cid = next((c.column for c in columns if c.identifier == "citizen_id" and c.is_key), None)
    names = {c.column for c in columns}
    if cid is None:
        return
    ids = pc.utf8_upper(table.column(cid).combine_chunks())
    ok_len = pc.equal(pc.utf8_length(ids), 18)
    if "birth_date" in names:
        expected = pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(ids, 6, 10), pc.utf8_slice_codeunits(ids, 10, 12), pc.utf8_slice_codeunits(ids, 12, 14), "-")
        given = table.column("birth_date").combine_chunks()
        problems.add("birth_date", CONSISTENCY, pc.and_(pc.and_(ok_len, pc.is_valid(given)), pc.not_equal(expected, given)))
    if "gender" in names:
        odd = pc.match_substring_regex(pc.utf8_slice_codeunits(ids, 16, 17), r"^[13579]$")
        given = table.column("gender").combine_chunks()
        expected = pc.if_else(odd, "男", "女")
        known = pc.is_in(given, pa.array(["男", "女"]))
        problems.add("gender", CONSISTENCY, pc.and_(pc.and_(ok_len, known), pc.not_equal(expected, given)))
