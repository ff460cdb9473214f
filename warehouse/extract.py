"""Database extraction (A1): read an agency's table from PostgreSQL or SQLite, all of it or the rows
past a watermark, into a batch that is checked and published like any other delivery."""

from __future__ import annotations

import re
import sqlite3
from urllib.parse import urlparse

import pyarrow as pa

from core.errors import ValidationFailed

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}(\.[A-Za-z_][A-Za-z0-9_]{0,63})?$")
BATCH_ROWS = 50_000


def check_identifier(name: str, field: str) -> str:
    if not _IDENTIFIER.match(name or ""):
        raise ValidationFailed("表名或列名只能包含字母、数字和下划线", field=field)
    return name


def _quote(name: str) -> str:
    return ".".join(f'"{part}"' for part in name.split("."))


def read(kind: str, dsn: str, *, table: str, columns: list[str], watermark_column: str = "", after: str = "") -> pa.Table:
    """The table's rows (text), optionally only those whose watermark column is past ``after``."""
    for column in columns + ([watermark_column] if watermark_column else []):
        check_identifier(column, "columns")
    check_identifier(table, "table")
    select = list(dict.fromkeys(columns + ([watermark_column] if watermark_column else [])))
    sql = f"SELECT {', '.join(_quote(c) for c in select)} FROM {_quote(table)}"
    params: list = []
    if watermark_column:
        if after:
            sql += f" WHERE CAST({_quote(watermark_column)} AS TEXT) > %s"
            params.append(after)
        sql += f" ORDER BY {_quote(watermark_column)}"
    if kind == "sqlite":
        path = urlparse(dsn).path if dsn.startswith("sqlite:") else dsn
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)  # read-only: extraction never writes
        cursor = connection.execute(sql.replace("%s", "?"), params)
    elif kind == "postgresql":
        import psycopg

        connection = psycopg.connect(dsn, autocommit=False)
        connection.read_only = True
        cursor = connection.cursor()
        cursor.execute(sql, params)
    else:
        raise ValidationFailed("不支持的数据库类型", field="kind")
    try:
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    finally:
        connection.close()
    return pa.table({n: pa.array([None if r[i] is None else str(r[i]) for r in rows], pa.string()) for i, n in enumerate(names)})
