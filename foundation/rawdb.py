"""The database driver's own cursor, for the few statements that run on every call (the audit append, the
current snapshot, the token and grant checks): there Django's cursor wrapper and connection proxy cost
more than SQLite's own work. Statements are written with ``%s`` placeholders, as for Django, and run in Django's
connection and transaction."""

from __future__ import annotations

import contextlib
import contextvars
import functools

from django.db import DEFAULT_DB_ALIAS, connections


def connection():
    """Django's connection (looked up once by a caller that needs it several times: the lookup is not free)."""
    return connections[DEFAULT_DB_ALIAS]


def cursor(db=None):
    """A driver cursor on Django's connection, closed on leaving the ``with`` block."""
    db = db or connections[DEFAULT_DB_ALIAS]
    if db.connection is None:
        db.ensure_connection()
    return contextlib.closing(db.connection.cursor())


_open: contextvars.ContextVar = contextvars.ContextVar("gongshu_rawdb_transaction", default=None)


@contextlib.contextmanager
def transaction(db=None):
    """A driver cursor in a transaction: the caller's, if one is open (Django's atomic block, or an outer
    ``transaction()``), else its own, begun and committed on the driver directly (an event of a read has no
    transaction around it, and Django's atomic machinery costs more than the statements)."""
    db = db or connections[DEFAULT_DB_ALIAS]
    if db.in_atomic_block or _open.get() is db:
        with cursor(db) as inside:
            yield inside
        return
    with cursor(db) as own:
        own.execute("BEGIN IMMEDIATE" if db.vendor == "sqlite" else "BEGIN")
        token = _open.set(db)
        try:
            yield own
        except BaseException:
            _open.reset(token)
            own.execute("ROLLBACK")
            raise
        _open.reset(token)
        own.execute("COMMIT")


@functools.cache
def sql(statement: str) -> str:
    """``statement`` in the driver's placeholder style (one database per process)."""
    return statement.replace("%s", "?") if connections[DEFAULT_DB_ALIAS].vendor == "sqlite" else statement
