"""Reading a delivery into an Arrow table of text columns: CSV (UTF-8, GBK, GB18030, detected or
declared), XLSX, JSON and JSON Lines. Everything stays text until the quality checks pass."""

from __future__ import annotations

import codecs
import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from foundation.errors import ValidationFailed

SNIFF_BYTES = 1 << 20
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8", "gbk": "gb18030", "gb2312": "gb18030", "gb18030": "gb18030"}


def detect_encoding(head: bytes) -> str:
    """UTF-8 if the first megabyte decodes as UTF-8 (a cut character at the end is fine), else GB18030
    (a superset of GBK and GB2312)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


CSV_SUFFIXES = (".csv", ".txt", ".tsv")
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


def check_declared(filename: str, encoding: str | None) -> None:
    """What can be refused before a file is read: its type and a declared encoding."""
    suffix = Path(filename).suffix.lower()
    if suffix not in (*CSV_SUFFIXES, ".xlsx", *JSON_SUFFIXES):
        raise ValidationFailed(f"不支持的文件类型 {suffix or '（无扩展名）'}：支持 CSV、XLSX、JSON、JSON Lines", field="file", code="file_type")
    if encoding and encoding.lower() not in ENCODINGS:
        raise ValidationFailed(f"不支持的编码 {encoding}", field="encoding", code="encoding")


def read(path: Path, *, filename: str, encoding: str | None = None) -> tuple[pa.Table, str]:
    check_declared(filename, encoding)
    suffix = Path(filename).suffix.lower()
    if suffix in CSV_SUFFIXES:
        return _read_csv(path, encoding)
    if suffix == ".xlsx":
        return _read_xlsx(path), "xlsx"
    return _read_json(path, lines=suffix != ".json"), "utf-8"


def _read_csv(path: Path, declared: str | None) -> tuple[pa.Table, str]:
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    encoding = ENCODINGS[declared.lower()] if declared else detect_encoding(head)
    try:
        first_line = head.split(b"\n", 1)[0].decode(encoding).lstrip("\ufeff").rstrip("\r")
    except UnicodeDecodeError:
        raise ValidationFailed(f"文件不是 {declared or encoding} 编码", field="encoding", code="encoding") from None
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    header = [h.strip() for h in next(csv.reader([first_line], delimiter=delimiter), [])]
    if not any(header):
        raise ValidationFailed("文件没有表头", field="file", code="empty")
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=encoding, column_names=header, skip_rows=1, block_size=8 << 20),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header}, strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        text = str(exc)
        if "incomplete multibyte sequence" in text:
            raise ValidationFailed("文件无法解析：末尾被截断（不完整的字符）", field="file", code="malformed") from None
        if "decode" in text.lower() or "utf" in text.lower() or isinstance(exc, UnicodeDecodeError):
            raise ValidationFailed(f"文件不是 {declared or encoding} 编码：{text[:120]}", field="encoding", code="encoding") from None
        raise ValidationFailed(f"文件无法解析（可能被截断或列数不一致）：{text[:200]}", field="file", code="malformed") from None
    return table, encoding


def _read_xlsx(path: Path) -> pa.Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ValidationFailed(f"Excel 文件无法打开：{str(exc)[:120]}", field="file", code="malformed") from None
    rows = workbook.worksheets[0].iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows, [])]
    if not any(header):
        raise ValidationFailed("文件没有表头", field="file", code="empty")
    columns: list[list[str | None]] = [[] for _ in header]
    for row in rows:
        if row is None or all(v is None for v in row):
            continue
        for i in range(len(header)):
            value = row[i] if i < len(row) else None
            columns[i].append(_text(value))
    return pa.table({h: pa.array(c, pa.string()) for h, c in zip(header, columns)})


def _text(value) -> str | None:
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text[:10] if text.endswith("T00:00:00") else text.replace("T", " ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_json(path: Path, *, lines: bool) -> pa.Table:
    try:
        with path.open("rb") as fh:
            data = fh.read()
        records = [json.loads(line) for line in data.splitlines() if line.strip()] if lines else json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"JSON 无法解析：{str(exc)[:120]}", field="file", code="malformed") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValidationFailed("JSON 须为对象数组（或每行一个对象）", field="file", code="malformed")
    return records_table(records)


def records_table(records: list[dict]) -> pa.Table:
    names = list(dict.fromkeys(k for r in records for k in r))
    return pa.table({n: pa.array([_text(r.get(n)) for r in records], pa.string()) for n in names})
