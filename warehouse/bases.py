"""Base databases (A5, SYS Art. 19): the population base keyed by citizen ID and the legal-entity base
keyed by USCC, consolidated from the statutory sources (SYS Art. 16) into a snapshot of their own catalog
entry, every column traceable to the source resource and snapshot it was taken from."""

from __future__ import annotations

import pyarrow as pa
from django.db import transaction

from catalog.models import Resource
from foundation import permissions, rulebook
from foundation.actor import Actor, acting_for
from foundation.errors import Conflict, NotFound

from . import engines
from .models import Batch, Provenance, Snapshot
from .query import arrow_of


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def source_resource(source_type: str) -> Resource | None:
    """The published entry of the statutory source agency for a basic data type, with data."""
    designation = rulebook.current().sources[source_type]
    return (
        Resource.objects.filter(
            published_version__isnull=False, items__source_type=source_type,
            provider__sector__in=designation.sectors, snapshots__isnull=False,
        ).distinct().order_by("provider__region__path", "code").first()
    )


def _base(key: str) -> tuple[dict, Resource]:
    spec = rulebook.current().bases.get(key)
    if spec is None:
        raise NotFound(f"规则库中没有基础库 {key}", field="base")
    base = Resource.objects.filter(name=spec["label"], published_version__isnull=False).first()
    if base is None:
        raise Conflict(f"“{spec['label']}”尚未编目发布", code="base_uncatalogued")
    return spec, base


def _sources(spec: dict) -> dict[str, tuple[Resource, Snapshot]]:
    """Each statutory source of the base with its current snapshot."""
    sources: dict[str, tuple[Resource, Snapshot]] = {}
    missing = []
    for field in spec["fields"]:
        if field["source"] in sources:
            continue
        resource = source_resource(field["source"])
        if resource is None:
            missing.append(field["source"])
            continue
        sources[field["source"]] = (resource, resource.snapshots.order_by("-version").first())
    if missing:
        raise Conflict(f"缺少法定数源的数据：{'、'.join(missing)}", code="source_missing")
    return sources


def refresh(actor: Actor) -> list[Batch]:
    """The scheduled rebuild: each base whose sources have published a snapshot since it was built (a
    delivery, a correction) is built again; a base that is up to date, or whose sources are not there yet,
    is left as it is. Returns the new batches."""
    permissions.require(actor, "warehouse.refresh_bases")
    built = []
    for key, spec in rulebook.current().bases.items():
        if not isinstance(spec, dict):
            continue  # the section's article
        try:
            spec, base = _base(key)
            current = [snapshot for _, snapshot in _sources(spec).values()]
        except (NotFound, Conflict):
            continue  # not catalogued, or a source has no data yet: nothing to build from
        latest = base.snapshots.order_by("-version").first()
        used = set(Provenance.objects.filter(snapshot=latest).values_list("source_snapshot_id", flat=True)) if latest else set()
        last_try = Batch.objects.filter(resource=base, channel=Batch.Channel.CONSOLIDATE).order_by("-created_at").first()
        tried = (last_try is not None and last_try.status == Batch.Status.REFUSED
                 and last_try.created_at > max(snapshot.created_at for snapshot in current))
        if used != {snapshot.pk for snapshot in current} and not tried:  # a refused build waits for new source data
            built.append(build(acting_for(actor, base.provider), key))  # the base's provider delivers it
    return built


def build(actor: Actor, key: str) -> Batch:
    from .services import ingest_table

    spec, base = _base(key)
    key_column = spec["key"]
    sources = _sources(spec)

    con = engines._duckdb().cursor()
    try:
        names = {}
        for i, (source_type, (resource, snapshot)) in enumerate(sources.items()):
            wanted = [key_column] + [f["item"] for f in spec["fields"] if f["source"] == source_type]
            table = arrow_of(snapshot)
            absent = [c for c in wanted if c not in table.column_names]
            if absent:
                raise Conflict(f"{resource.name} 缺少数据项：{'、'.join(absent)}", code="source_items")
            names[source_type] = f"s{i}"
            # one row per key: the first delivered
            con.register(f"s{i}_all", table.select(list(dict.fromkeys(wanted))))
            con.execute(f"CREATE OR REPLACE TEMP VIEW s{i} AS SELECT * FROM s{i}_all QUALIFY row_number() OVER (PARTITION BY {_quote(key_column)}) = 1")
        spine = names[spec["fields"][0]["source"]]
        select = [f"{spine}.{_quote(key_column)} AS {_quote(key_column)}"] + [
            f"CAST({names[f['source']]}.{_quote(f['item'])} AS VARCHAR) AS {_quote(f['column'])}" for f in spec["fields"]
        ]
        joins = " ".join(
            f"LEFT JOIN {alias} ON {alias}.{_quote(key_column)} = {spine}.{_quote(key_column)}"
            for source_type, alias in names.items() if alias != spine
        )
        result = con.sql(f"SELECT {', '.join(select)} FROM {spine} {joins} ORDER BY 1").to_arrow_table()
    finally:
        con.close()
    result = pa.table({n: result.column(n).cast(pa.string()) for n in result.column_names})
    batch = ingest_table(actor, base, result, channel=Batch.Channel.CONSOLIDATE, mode="full", filename=f"base:{key}")
    if batch.status == Batch.Status.PUBLISHED:
        with transaction.atomic():
            Provenance.objects.bulk_create([
                Provenance(snapshot=batch.snapshot, column=f["column"], source_resource=sources[f["source"]][0],
                           source_snapshot=sources[f["source"]][1], source_item=f["item"])
                for f in spec["fields"]
            ])
    return batch
