"""Reading small delimited text samples as people send them: UTF-8 (with or without BOM), GBK, GB18030."""

from __future__ import annotations

import csv
import io

from .errors import ValidationFailed

ENCODINGS = ("utf-8-sig", "gb18030")  # GB18030 is a superset of GBK and GB2312


def decode(data: bytes, encoding: str | None = None) -> str:
    for candidate in ([encoding] if encoding else ENCODINGS):
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    raise ValidationFailed("文件编码无法识别（支持 UTF-8、GBK、GB18030）", field="file", code="encoding")


def read_csv_sample(data: bytes, *, limit: int, encoding: str | None = None) -> tuple[list[str], list[list[str]]]:
    text = decode(data, encoding)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if not header:
        raise ValidationFailed("文件为空", field="file", code="empty")
    header = [h.strip() for h in header]
    rows = []
    for row in reader:
        if len(rows) >= limit:
            break
        if row:
            rows.append(row)
    return header, rows
