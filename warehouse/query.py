"""The one query path (DESIGN rule 3): every read of data goes through ``run``.

It resolves what the actor may see (scope), checks the SQL, builds the masked, row-filtered view the
query sees, runs it on the engine within the limits of ``warehouse.limits``, and writes the usage log
(A6) and an audit event whose id and hash are the caller's receipt. How much that event says follows the
grades of the items read (G1 ``log_detail``); a run refused for a limit is audited too.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
from django.conf import settings

from audit.services import record, record_refusal
from catalog.models import Resource
from foundation import permissions, rawdb, rulebook
from foundation.actor import Actor
from foundation.errors import GongshuError, NotFound, PermissionDenied, ValidationFailed

from . import crypto, engines, limits, lookup, masking, policy, storage, usage
from .models import Snapshot



@dataclass(frozen=True)
class Scope:
    """What a use may see: which items, which rows, masked or not, and for what declared purpose."""

    kind: str  # owner | oversight | grant | sandbox
    purpose: str
    columns: frozenset[str] | None = None  # None: every item the grades allow
    row_filter: dict[str, tuple[str, ...]] = field(default_factory=dict)  # column -> allowed values
    mask: bool = True
    grant_ref: str = ""


@dataclass
class Result:
    columns: list[str]
    rows: list[tuple]
    snapshot: Snapshot
    audit_seq: int
    audit_hash: str

    @property
    def records(self) -> list[dict]:
        return [dict(zip(self.columns, row)) for row in self.rows]


def scope_for(actor: Actor, resource: Resource, *, purpose: str) -> Scope:
    """The provider reads its own data unmasked; the bureau, service centre and supervisors of its region
    read it masked by grade. Everyone else needs a grant (sharing) or the sandbox (operation)."""
    if not purpose or not purpose.strip():
        raise ValidationFailed("请说明使用目的（应用场景）", field="purpose")
    if actor.is_system or (actor.organisation is not None and actor.organisation.pk == resource.provider_id):
        return Scope("owner", purpose.strip(), mask=False)
    if permissions.can(actor, "warehouse.query_oversight", organisation=resource.provider):
        return Scope("oversight", purpose.strip())
    raise PermissionDenied("无权使用该数据资源，请先提出共享申请", code="no_grant")


_snapshots: dict[int, Snapshot] = {}  # snapshots are immutable: kept by id once read
_CURRENT_SQL = "SELECT id, path FROM warehouse_snapshot WHERE resource_id = %s ORDER BY version DESC LIMIT 1"


def snapshot_of(resource: Resource, as_of: int | dt.datetime | None = None) -> Snapshot:
    """The current snapshot, or the one in force at a version or time (A4)."""
    if as_of is None:  # the hot path of every lookup: one indexed read, no ORM
        with rawdb.cursor() as cursor:
            cursor.execute(rawdb.sql(_CURRENT_SQL), [resource.pk])
            row = cursor.fetchone()
        cached = _snapshots.get(row[0]) if row is not None else None
        if cached is not None and cached.path == row[1]:  # ids are reused after a restore or a rollback: paths never
            return cached
    qs = Snapshot.objects.filter(resource=resource)
    if as_of is None:
        qs = qs.filter(pk=row[0] if row is not None else None)  # the row just read, not a second search
    elif isinstance(as_of, int):
        qs = qs.filter(version=as_of)
    elif isinstance(as_of, dt.datetime):
        qs = qs.filter(created_at__lte=as_of)
    found = qs.order_by("-version").first()
    if found is None:
        raise NotFound("该数据资源没有可用的数据快照", field="as_of" if as_of else "resource", code="no_snapshot")
    if len(_snapshots) > 4096:
        _snapshots.clear()
    _snapshots[found.pk] = found
    return found


@dataclass(frozen=True)
class _Item:
    column: str
    data_type: str
    sensitivity: str
    is_key: bool
    access: str | None
    masking: str | None
    log_detail: str | None


@dataclass(frozen=True)
class _View:
    """What one kind of scope sees of an entry: (column, mask) of each visible item, and whether its reads
    are logged in full: the highest ``log_detail`` of those items' grades (G1); an ungraded item counts as full."""

    items: tuple[tuple[str, masking.Mask], ...]
    full_log: bool


@dataclass
class _Policy:
    at: float
    items: tuple[_Item, ...]
    visible: dict = field(default_factory=dict)  # (columns, scope kind, masked) -> _View


_policies: dict[tuple[int, dt.datetime], _Policy] = {}


def _policy(resource: Resource) -> _Policy:
    """The entry's items with their grade in force, and the masks of each kind of scope. Kept per process
    for GONGSHU_POLICY_CACHE_SECONDS: a new version of the entry is seen at once (its key changes), an edit
    of the grading scheme or the rulebook within seconds."""
    key = (resource.pk, resource.updated_at)
    hit = _policies.get(key)
    now = time.monotonic()
    if hit is not None and now - hit.at < settings.GONGSHU_POLICY_CACHE_SECONDS:
        return hit
    items = tuple(_item(i) for i in resource.items.select_related("published_grade").order_by("position"))
    if len(_policies) > 4096:
        _policies.clear()
    _policies[key] = _Policy(now, items)
    return _policies[key]


def _item(item) -> _Item:
    grade = item.published_grade
    if grade is None:
        return _Item(item.column, item.data_type, item.sensitivity, item.is_key, None, None, None)
    return _Item(item.column, item.data_type, item.sensitivity, item.is_key, grade.access, grade.masking, grade.log_detail)


def _items(resource: Resource) -> tuple[_Item, ...]:
    return _policy(resource).items


def _view(resource: Resource, scope: Scope) -> _View:
    """The items the scope may see with their masks (dropped items left out), and how reads are logged."""
    policy = _policy(resource)
    memo = (scope.columns, scope.kind, scope.mask)
    if memo not in policy.visible:
        out, full_log = [], False
        for item in policy.items:
            if scope.columns is not None and item.column not in scope.columns:
                continue
            if item.access == "sandbox_only" and scope.kind not in ("owner", "sandbox"):
                continue  # core data never leaves the trusted environment
            mask = masking.mask_for(item.masking if scope.mask else None, item.sensitivity, item.data_type)
            if not mask.drops:
                out.append((item.column, mask))
                full_log = full_log or item.log_detail != "summary"
        policy.visible[memo] = _View(tuple(out), full_log)
    return policy.visible[memo]


def _where(filters: dict[str, list[str] | tuple[str, ...]]) -> tuple[str, list]:
    clauses, params = [], []
    for column, values in filters.items():
        values = list(values)
        clauses.append(f"{masking._q(column)} IN ({', '.join('?' for _ in values)})")
        params.extend(values)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def run(
    actor: Actor,
    resource: Resource,
    *,
    scope: Scope,
    sql: str | None = None,
    filters: dict[str, str | list[str]] | None = None,
    as_of: int | dt.datetime | None = None,
    limit: int = 1000,
    channel: str | None = None,
    engine: str | None = None,
    export: bool = False,
    meter: Callable | None = None,
) -> Result:
    """Run one read on one resource within ``scope``. ``filters`` match raw values of key items (a
    per-record lookup); ``sql`` runs over the masked view ``data``; ``export``: a file delivery of the whole
    view (up to GONGSHU_EXPORT_MAX_ROWS). ``meter(cursor, columns, rows)`` runs in the transaction that
    appends the read's audit event (the access path counts the use there)."""
    snapshot = snapshot_of(resource, as_of)
    view = _view(resource, scope)
    visible_columns = {c for c, _ in view.items}
    filters = {k: ([v] if isinstance(v, str) else list(v)) for k, v in (filters or {}).items()}
    keys = {i.column for i in _items(resource) if i.is_key} | set(scope.row_filter)
    for column in filters:
        if column not in keys or (scope.columns is not None and column not in scope.columns):
            raise PermissionDenied(f"不能按 {column} 查询记录", field="filters", code="filter_column")
    # a file delivery may be larger than an answer (rule query.answer_rows)
    most = settings.GONGSHU_EXPORT_MAX_ROWS if export else int(rulebook.value("query.answer_rows"))
    if not 1 <= limit <= most:
        raise ValidationFailed(f"返回行数须在 1 到 {most} 之间", field="limit")
    tree = policy.check(sql, columns=visible_columns) if sql else None
    try:
        if tree is None and view.items and _is_key_lookup(snapshot, filters):
            columns, rows = _lookup(snapshot, filters, scope, view.items, limit)
        else:
            columns, rows = _on_engine(resource, snapshot, scope, view.items, tree, filters, limit, engine)
    except (limits.QueryLimit, limits.EngineBusy) as exc:  # refused for a limit: nothing returned, the attempt audited
        record_refusal(actor, usage.ACTION, exc, resource, detail=_detail(actor, snapshot, scope, view, sql, filters, channel))
        raise
    except GongshuError:
        raise
    except Exception as exc:  # an engine's own error on a query the policy let through (bad types, …)
        raise ValidationFailed(f"查询执行失败：{str(exc).splitlines()[0][:200]}", field="sql", code="sql_error") from None
    event = _log(actor, resource, _detail(actor, snapshot, scope, view, sql, filters, channel, (columns, len(rows))),
                 meter and (lambda cursor: meter(cursor, columns, rows)))
    return Result(columns, rows, snapshot, event.seq, event.hash)


def _is_key_lookup(snapshot: Snapshot, filters: dict) -> bool:
    return len(filters) == 1 and len(snapshot.key_columns) == 1 and list(filters) == snapshot.key_columns


def _lookup(snapshot, filters, scope, visible, limit) -> tuple[list[str], list[tuple]]:
    """Per-record lookup: the rows found by key in the sorted snapshot, kept if the scope's row filter
    allows them, masked here with the same masks the engine would apply (no engine round trip)."""
    ((column, values),) = filters.items()
    found = lookup.find(snapshot, column, values)
    if scope.row_filter and found.num_rows:
        allowed = np.ones(found.num_rows, dtype=bool)
        for name, permitted in scope.row_filter.items():
            permitted = set(permitted)
            allowed &= np.array([value is not None and str(value) in permitted for value in found.column(name).to_pylist()])
        found = found.filter(pa.array(allowed))
    found = found.slice(0, limit)
    names = found.column_names
    masked = [(found.column(names.index(c)).to_pylist(), mask) for c, mask in visible]
    return [c for c, _ in visible], [tuple(mask.apply(values[i]) for values, mask in masked) for i in range(found.num_rows)]


def _on_engine(resource, snapshot, scope, visible, tree, filters, limit, engine) -> tuple[list[str], list[tuple]]:
    """Everything else runs on the engine over the masked, row-filtered view ``data``, within the limits:
    the decrypted Arrow input is counted against the memory limit before anything is decrypted (Spark
    reads a plain snapshot itself, into its own memory), then the run waits for an engine slot."""
    where, params = _where({**filters, **{k: list(v) for k, v in scope.row_filter.items()}})
    projection = ", ".join(f"{mask.sql(column)} AS {masking._q(column)}" for column, mask in visible) or "NULL AS nothing"
    outer = tree.sql(dialect="duckdb") if tree is not None else "SELECT * FROM data"
    sql = f"WITH data AS (SELECT {projection} FROM raw{where}) SELECT * FROM ({outer}) AS q LIMIT {int(limit)}"
    name, path = engine or engine_for(resource), storage.absolute(snapshot.path)
    read = {column for column, _ in visible} | set(filters) | set(scope.row_filter)
    arrow = name == "duckdb" or snapshot.encrypted
    budget = limits.budget(limits.input_bytes(path, encrypted=snapshot.encrypted, rows=snapshot.row_count, columns=read) if arrow else 0)
    with limits.slot():
        return engines.ENGINES[name](path, encrypted=snapshot.encrypted, sql=sql, params=params, budget=budget)


def engine_for(resource: Resource) -> str:
    """DuckDB unless the resource is configured as large (then Spark)."""
    from .models import EngineChoice

    choice = EngineChoice.objects.filter(resource=resource).values_list("engine", flat=True).first()
    return choice or "duckdb"


def _describe(filters: dict) -> str:
    return "lookup " + ", ".join(f"{k}=?" for k in filters) if filters else "scan"


def _detail(actor, snapshot, scope, view, sql, filters, channel, answer=None) -> dict:
    """What the audit event of a read says (``answer``: its columns and row count; none for a refused run),
    by the grades of the items read (G1 ``log_detail``): ``full`` names the items returned, the query as
    written and the record keys looked up; ``summary`` only counts and the kind of read. ``items`` stays a
    list (empty for a summary): the usage log (A6) copies it."""
    full = view.full_log
    detail = {"snapshot": snapshot.version, "snapshot_id": snapshot.pk, "scope": scope.kind, "purpose": scope.purpose,
              "grant": scope.grant_ref, "channel": channel or actor.channel, "log_detail": "full" if full else "summary",
              "query": (sql or _describe(filters))[:2000] if full else "sql" if sql else "lookup" if filters else "scan"}
    if full and filters:
        detail["keys"] = filters
    if answer is not None:
        columns, rows = answer
        detail.update({"items": columns} if full else {"items": [], "item_count": len(columns)}, rows=rows)
    return detail


def _log(actor, resource, detail, meter=None):
    """The audit event of one read: the caller's receipt, and the record the usage log (A6) is copied from
    (``warehouse.usage``). One insert on every lookup of the sharing API (and the meter's upsert with it)."""
    if meter is None:
        return record(actor, usage.ACTION, resource, detail=detail)
    with rawdb.transaction() as cursor:
        event = record(actor, usage.ACTION, resource, detail=detail)
        meter(cursor)
    return event


def arrow_of(snapshot: Snapshot) -> pa.Table:
    """The whole snapshot, for the warehouse's own work (delta merges, base databases). Never for output."""
    return crypto.dataset(storage.absolute(snapshot.path), encrypted=snapshot.encrypted).to_table()
