"""Text files in and out: reading small delimited samples as people send them (UTF-8 with or without BOM,
GBK, GB18030), and writing the CSV and XLSX files people open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from decimal import Decimal

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


# --- writing spreadsheets people open in Excel or WPS ------------------------------------------------
#
# One writer for every CSV and XLSX the platform hands out (catalog exports, error reports, grant
# deliveries, downloads). A text cell that a spreadsheet would read as a formula is neutralised: in CSV by
# a leading single quote (the OWASP rule for CSV injection); in XLSX every text cell is written as text,
# never a formula, and the risky ones carry Excel's "quote prefix" so editing the cell keeps it text.
# Numbers (int, float, Decimal) are numbers and stay as they are, and so does a text that is a plain number
# ("-12.5", "+3"): a spreadsheet reads it as that number, not as a formula, and a signed figure in an
# error report must stay readable. Anything else starting with = + - @ tab or CR ("-2+3", "+1+1") is
# neutralised.

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def is_formula_like(value) -> bool:
    return isinstance(value, str) and value[:1] in FORMULA_TRIGGERS and _PLAIN_NUMBER.fullmatch(value) is None


def neutralise(value):
    """The cell value a spreadsheet cannot run: risky text gets a leading ``'``; everything else unchanged."""
    return "'" + value if is_formula_like(value) else value


def _csv_cell(value):
    if value is None or isinstance(value, (int, float, Decimal)):  # bool is an int
        return value
    return neutralise(value if isinstance(value, str) else str(value))


def csv_bytes(rows: Iterable[Iterable]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens the Chinese headers correctly; text cells neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows([_csv_cell(value) for value in row] for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


XLSX_WIDEST = 60  # characters: a column is as wide as its widest cell, up to this


def _display_width(value) -> int:
    """How many character widths a cell takes: a CJK character two, others one."""
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def xlsx_bytes(rows: Iterable[Iterable], *, sheet: str = "Sheet1") -> bytes:
    """A write-only workbook of one sheet, its first row the header: frozen, and each column as wide as its
    widest cell (CJK counted double, up to XLSX_WIDEST). Text is always a text cell (openpyxl would otherwise
    store a string starting with ``=`` as a formula)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    rows = [list(row) for row in rows]
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet)
    widths: dict[int, int] = {}
    for row in rows:
        for index, value in enumerate(row):
            widths[index] = max(widths.get(index, 0), _display_width(value))
    for index, width in widths.items():  # set before the first row: a write-only sheet writes them first
        worksheet.column_dimensions[get_column_letter(index + 1)].width = min(XLSX_WIDEST, width + 2)
    if rows:
        worksheet.freeze_panes = "A2"

    def cell(value):
        if not isinstance(value, str):
            return value
        written = WriteOnlyCell(worksheet, value=value)
        written.data_type = "s"
        written.quotePrefix = is_formula_like(value)
        return written

    for row in rows:
        worksheet.append([cell(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
