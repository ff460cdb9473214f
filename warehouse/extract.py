"""Database extraction (A1): read a table of a registered source database — a SQLite file under the import
directory, or a PostgreSQL database on a host the bureau allows — all of it or the rows past a watermark,
into a batch that is checked and published like any other delivery.

The platform must never read itself: its own database file (by any spelling, link or copy), its data and
key directories, its own PostgreSQL cluster, superuser sessions and system catalogs are refused. Every
check runs at registration, at approval and again at each run (a file can be swapped, a name can resolve
elsewhere); a refusal is a ``SourceRefused`` and nothing is read.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import sqlite3
import stat
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

import pyarrow as pa
from django.conf import settings

from foundation.errors import ValidationFailed

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}(\.[A-Za-z_][A-Za-z0-9_]{0,63})?")
_PATH_PART = re.compile(r"\w[\w.-]{0,99}")  # no leading dot: neither "." nor ".." nor hidden files
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|[0-9A-Fa-f:.]{2,45}")
_PG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$-]{0,62}")
# Tables only the platform (or another Django site) holds: a file that has them is refused even when no
# other check caught it (a copy of the platform's database dropped into the import directory).
PLATFORM_TABLES = frozenset({"django_session", "django_migrations", "core_user", "audit_event", "audit_chainhead",
                             "otp_totp_totpdevice", "warehouse_sourcedatabase"})
_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")
BATCH_ROWS = 50_000


class SourceRefused(ValidationFailed):
    """The source may not be read (A1): outside the import directory, the platform itself, a host not on
    the bureau's allowlist, a superuser, a system catalog, not approved."""

    code = "source_refused"


@dataclass(frozen=True)
class Location:
    """Where a registered source database is: a file under the import directory, or a PostgreSQL server."""

    kind: str
    path: str = ""
    host: str = ""
    port: int | None = None
    database: str = ""
    user: str = ""
    password: str = ""


def check_identifier(name: str, field: str) -> str:
    if not _IDENTIFIER.fullmatch(name or ""):
        raise ValidationFailed("表名或列名只能包含字母、数字和下划线", field=field)
    return name


def check_table(kind: str, table: str) -> str:
    """A plain table name of the source, never one of its system tables."""
    check_identifier(table, "table")
    parts = table.lower().split(".")
    if kind == "sqlite" and any(p.startswith("sqlite_") for p in parts):
        raise SourceRefused("不能抽取 SQLite 的系统表", field="table", code="system_catalog")
    if kind == "postgresql" and any(p.startswith("pg_") or p in _SYSTEM_SCHEMAS for p in parts):
        raise SourceRefused("不能抽取 PostgreSQL 的系统目录", field="table", code="system_catalog")
    return table


def _quote(name: str) -> str:
    return ".".join(f'"{part}"' for part in name.split("."))


def _within(path: str, directory: str) -> bool:
    return os.path.commonpath([path, directory]) == directory


# --- SQLite: files under the import directory ---------------------------------------------------------------


def _protected() -> list[tuple[str, str]]:
    """The platform's own directories, resolved: never read from, never overlapping the import directory."""
    directories = [("数据目录", settings.GONGSHU_DATA_DIR), ("密钥目录", settings.GONGSHU_KEY_DIR),
                   ("审计锚定目录", getattr(settings, "GONGSHU_CHECKPOINT_DIR", settings.GONGSHU_KEY_DIR))]
    return [(label, os.path.realpath(path)) for label, path in directories]


def import_dir() -> str:
    """The import directory, resolved; refused if it overlaps the data or key directory."""
    root = os.path.realpath(settings.GONGSHU_IMPORT_DIR)
    for label, other in _protected():
        if _within(root, other) or _within(other, root):
            raise SourceRefused(f"导入目录（GONGSHU_IMPORT_DIR）不得与平台的{label}重叠，请改配置", field="path",
                                code="import_dir_unsafe")
    return root


def _platform_files() -> list[str]:
    """The platform's own SQLite database files (the configured one and the one in use, with WAL and journal)."""
    from django.db import connections

    names = {settings.DATABASES["default"].get("NAME"), connections["default"].settings_dict.get("NAME")}
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        names = set()
    files = []
    for name in filter(None, names):
        if str(name).startswith(":memory:") or str(name).startswith("file:"):
            continue
        real = os.path.realpath(name)
        files += [real + suffix for suffix in ("", "-wal", "-shm", "-journal")]
    return files


def sqlite_file(relative: str) -> tuple[str, tuple[int, int]]:
    """The resolved path and identity (device, inode) of the SQLite file ``relative`` names under the import
    directory, if it may be read; otherwise a refusal."""
    root = import_dir()
    parts = (relative or "").split("/")
    if not relative or len(relative) > 500 or not all(_PATH_PART.fullmatch(p) for p in parts):
        raise SourceRefused("SQLite 文件须写成导入目录下的相对路径（如 hr/cbxx.sqlite3）：只含字母、数字、下划线、点和连字符，"
                            "不得是绝对路径、URI 或带参数，不得含 ..、./ 或 //", field="path", code="path_invalid")
    candidate = os.path.join(root, *parts)
    current = root
    for part in parts:  # no symbolic link on the way: each component as it is, not as it points
        current = os.path.join(current, part)
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            raise SourceRefused(f"导入目录中没有文件 {relative}", field="path", code="file_missing") from None
        if stat.S_ISLNK(mode):
            raise SourceRefused("SQLite 文件的路径不得含符号链接", field="path", code="symlink")
    real = os.path.realpath(candidate)
    if real != candidate or not _within(real, root):
        raise SourceRefused("SQLite 文件须在导入目录之内", field="path", code="outside_import_dir")
    info = os.stat(real, follow_symlinks=False)
    if not stat.S_ISREG(info.st_mode):
        raise SourceRefused("SQLite 源须是普通文件", field="path", code="not_a_file")
    identity = (info.st_dev, info.st_ino)
    own_names, own_files = set(), set()
    for own in _platform_files():
        own_names.add(own.casefold())
        if os.path.exists(own):
            same = os.stat(own)
            own_files.add((same.st_dev, same.st_ino))
    if real.casefold() in own_names or identity in own_files:  # by name, or by inode (a hard link)
        raise SourceRefused("不能抽取平台自身的数据库", field="path", code="platform_database")
    for suffix in ("-wal", "-shm", "-journal"):  # SQLite opens these beside the file by name
        if os.path.lexists(real + suffix):
            companion = os.lstat(real + suffix)
            if not stat.S_ISREG(companion.st_mode) or (companion.st_dev, companion.st_ino) in own_files:
                raise SourceRefused(f"SQLite 文件旁的 {suffix} 文件须是普通文件，且不属于平台数据库", field="path",
                                    code="platform_database")
    for _, directory in _protected():
        if _within(real, directory):
            raise SourceRefused("不能抽取平台数据目录或密钥目录中的文件", field="path", code="platform_directory")
    return real, identity


def _open_sqlite(relative: str) -> sqlite3.Connection:
    path, identity = sqlite_file(relative)
    connection = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=5)  # read-only, never immutable
    try:
        info = os.stat(path, follow_symlinks=False)
        if (info.st_dev, info.st_ino) != identity:  # swapped between the check and the opening
            raise SourceRefused("SQLite 文件在检查后被替换", field="path", code="file_changed")
        connection.execute("PRAGMA query_only = ON")
        connection.execute("PRAGMA trusted_schema = OFF")  # views and triggers of the file call no unsafe function
        try:
            names = {r[0].lower() for r in connection.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
        except sqlite3.DatabaseError:
            raise SourceRefused("该文件不是 SQLite 数据库", field="path", code="not_sqlite") from None
        if names & PLATFORM_TABLES:
            raise SourceRefused("该文件含平台（Django）的系统表，疑为平台数据库的副本，不予抽取", field="path",
                                code="platform_database")
    except BaseException:
        connection.close()
        raise
    deadline = time.monotonic() + settings.GONGSHU_EXTRACT_STATEMENT_TIMEOUT
    connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    return connection


def check_sqlite(relative: str) -> None:
    """At registration and approval: the file may be read and is not the platform's (opened, then closed)."""
    _open_sqlite(relative).close()


# --- PostgreSQL: hosts on the bureau's allowlist ------------------------------------------------------------


def check_postgresql(location: Location) -> None:
    """The connection facts of a PostgreSQL source, as plain names (no socket path, no connection string)."""
    if not _HOST.fullmatch(location.host or ""):
        raise SourceRefused("主机须为主机名或 IP 地址（不接受套接字路径或多个主机）", field="host", code="host_invalid")
    if not isinstance(location.port, int) or not 1 <= location.port <= 65535:
        raise ValidationFailed("端口须在 1 到 65535 之间", field="port")
    for field, value in (("database", location.database), ("user", location.user)):
        if not _PG_NAME.fullmatch(value or ""):
            raise ValidationFailed("数据库名和用户名只能包含字母、数字、下划线、$ 和连字符", field=field)


def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """An allowlist entry: one address or a network in CIDR notation, host bits clear, not wider than /8 (/32
    for IPv6)."""
    try:
        network = ipaddress.ip_network((text or "").strip(), strict=True)
    except ValueError:
        raise ValidationFailed("请填写 IP 地址或 CIDR 网段（如 10.20.0.0/16），网段的主机位须为 0", field="network") from None
    if network.prefixlen < (8 if network.version == 4 else 32):
        raise ValidationFailed("网段过大：IPv4 不得大于 /8，IPv6 不得大于 /32", field="network")
    return network


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    address = ipaddress.ip_address(text.split("%", 1)[0])
    return address.ipv4_mapped or address if address.version == 6 else address


def allowed_addresses(host: str, port: int, allowed: list[str]) -> list[str]:
    """Every address ``host`` resolves to, if every one lies in an allowed network; otherwise a refusal."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise SourceRefused(f"无法解析主机 {host}", field="host", code="host_unresolved") from None
    addresses = list(dict.fromkeys(_address(info[4][0]) for info in found))
    networks = [ipaddress.ip_network(n) for n in allowed]
    outside = [str(a) for a in addresses if not any(a.version == n.version and a in n for n in networks)]
    if not addresses or outside:
        raise SourceRefused(f"主机 {host} 的地址 {'、'.join(outside) or '—'} 不在主管部门的源数据库主机白名单内",
                            field="host", code="host_not_allowed")
    return [str(a) for a in addresses]


@lru_cache(maxsize=1)
def _own_cluster() -> str | None:
    """The platform's own PostgreSQL cluster (its system identifier), when it runs on PostgreSQL."""
    from django.db import connections, transaction

    platform = connections["default"]
    if platform.vendor != "postgresql":
        return None
    with transaction.atomic(), platform.cursor() as cursor:
        cursor.execute("SELECT system_identifier FROM pg_catalog.pg_control_system()")
        return str(cursor.fetchone()[0])


def _open_postgresql(location: Location, allowed: list[str], table: str):
    """A read-only session on the source, after every check; and the table's schema-qualified name."""
    import psycopg

    check_postgresql(location)
    addresses = allowed_addresses(location.host, location.port, allowed)
    try:
        own = _own_cluster()
    except Exception:
        raise SourceRefused("无法确认平台自身的数据库集群，暂不能从 PostgreSQL 抽取", code="own_cluster") from None
    connection = psycopg.connect(
        host=location.host, hostaddr=addresses[0], port=location.port, dbname=location.database, user=location.user,
        password=location.password, passfile=os.devnull, connect_timeout=settings.GONGSHU_EXTRACT_CONNECT_TIMEOUT,
        application_name="gongshu-extraction", autocommit=True,
        options=f"-c statement_timeout={settings.GONGSHU_EXTRACT_STATEMENT_TIMEOUT * 1000} -c default_transaction_read_only=on",
    )
    try:
        try:
            system_identifier = str(connection.execute("SELECT system_identifier FROM pg_catalog.pg_control_system()").fetchone()[0])
        except psycopg.Error:
            raise SourceRefused("无法确认源数据库所在的集群，不予抽取", field="host", code="own_cluster") from None
        if own is not None and system_identifier == own:
            raise SourceRefused("不能抽取平台自身的数据库集群", field="host", code="own_cluster")
        superuser = connection.execute(
            "SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) pg_catalog.current_user()"
        ).fetchone()
        if connection.info.parameter_status("is_superuser") != "off" or superuser is None or superuser[0]:
            raise SourceRefused("源数据库的登录用户不得是超级用户，请使用只读用户", field="user", code="superuser")
        found = connection.execute(
            "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
            " ON n.oid OPERATOR(pg_catalog.=) c.relnamespace WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(%s)",
            [_quote(table)],
        ).fetchone()
        if found is None:
            raise LookupError(f"源数据库中没有表 {table}")
        schema, name = found
        if schema.lower() in _SYSTEM_SCHEMAS or schema.lower().startswith("pg_"):
            raise SourceRefused("不能抽取 PostgreSQL 的系统目录", field="table", code="system_catalog")
        connection.autocommit = False
        connection.read_only = True
    except BaseException:
        connection.close()
        raise
    return connection, f"{schema}.{name}"


# --- reading -----------------------------------------------------------------------------------------------


def _select(table: str, columns: list[str], watermark_column: str, after: str, placeholder: str) -> tuple[str, list]:
    select = list(dict.fromkeys(columns + ([watermark_column] if watermark_column else [])))
    sql = f"SELECT {', '.join(_quote(c) for c in select)} FROM {_quote(table)}"
    params: list = []
    if watermark_column:
        if after:
            sql += f" WHERE CAST({_quote(watermark_column)} AS TEXT) > {placeholder}"
            params.append(after)
        sql += f" ORDER BY {_quote(watermark_column)}"
    return sql, params


def read(location: Location, *, allowed: list[str] = (), table: str, columns: list[str], watermark_column: str = "",
         after: str = "") -> pa.Table:
    """The table's rows (text), optionally only those whose watermark column is past ``after``. ``allowed``:
    the networks a PostgreSQL source's host may resolve into."""
    for column in columns + ([watermark_column] if watermark_column else []):
        check_identifier(column, "columns")
    check_table(location.kind, table)
    if location.kind == "sqlite":
        connection = _open_sqlite(location.path)
        sql, params = _select(table, columns, watermark_column, after, "?")
        cursor = connection.execute(sql, params)
    elif location.kind == "postgresql":
        connection, qualified = _open_postgresql(location, list(allowed), table)
        sql, params = _select(qualified, columns, watermark_column, after, "%s")
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
