import datetime as dt

from ninja import Router, Schema, Status
from pydantic import Field

from catalog import selectors as catalog_selectors
from core.auth import TokenAuth
from core.errors import ValidationFailed

from . import query, readers, selectors, services

router = Router(tags=["data"])
MAX_PUSH = 100_000


class RecordsIn(Schema):
    mode: str = Field("delta", description="full: replaces the data; delta: merged by key")
    records: list[dict] = Field(description="one object per record, keys are item columns or names")


class IssueOut(Schema):
    row: int
    column: str
    value: str
    rule: str
    message: str
    status: str


class BatchOut(Schema):
    id: int
    resource: int = Field(alias="resource_id")
    channel: str
    mode: str
    status: str
    rows_received: int
    rows_accepted: int
    rows_refused: int
    error_rate: float
    message: str
    snapshot_version: int | None = None
    created_at: dt.datetime

    @staticmethod
    def resolve_snapshot_version(obj):
        snapshot = getattr(obj, "snapshot", None) if obj.status == "published" else None
        return snapshot.version if snapshot else None


class BatchDetail(BatchOut):
    issues: list[IssueOut]

    @staticmethod
    def resolve_issues(obj):
        return list(obj.issues.all()[:1000])


@router.post("/{resource_id}/records", response={201: BatchDetail, 422: BatchDetail})
def push_records(request, resource_id: int, payload: RecordsIn):
    """A1 API push: an agency posts records with its token; the batch is checked whole like a file."""
    resource = catalog_selectors.access_resource(request.actor, resource_id)
    if not payload.records or len(payload.records) > MAX_PUSH:
        raise ValidationFailed(f"每批 1 到 {MAX_PUSH} 条记录", field="records")
    batch = services.ingest_table(request.actor, resource, readers.records_table(payload.records),
                                  channel="api", mode=payload.mode)
    return Status(201 if batch.status == "published" else 422, batch)


@router.get("/{resource_id}/batches", response=list[BatchOut])
def list_batches(request, resource_id: int):
    resource = catalog_selectors.access_resource(request.actor, resource_id)
    return list(selectors.batches(request.actor, resource)[:200])


@router.get("/batches/{batch_id}", response=BatchDetail)
def get_batch(request, batch_id: int):
    return selectors.access_batch(request.actor, batch_id)


class QueryIn(Schema):
    purpose: str = Field(description="the scenario this use serves; logged (SYS Art. 20)")
    sql: str | None = Field(None, description="a SELECT over the table `data`")
    filters: dict[str, str | list[str]] | None = Field(None, description="lookup by key items: {column: value}")
    as_of: int | None = Field(None, description="snapshot version")
    limit: int = 100


class Receipt(Schema):
    event: int
    hash: str


class QueryOut(Schema):
    columns: list[str]
    rows: list[list]
    snapshot: int
    receipt: Receipt


@router.post("/{resource_id}/query", response=QueryOut, auth=TokenAuth(reads=True))
def run_query(request, resource_id: int, payload: QueryIn):
    """The one query path over HTTP: scope, SQL policy, masking by grade, usage log; answered with a receipt."""
    actor = request.actor
    resource = catalog_selectors.access_resource(actor, resource_id)
    result = query.run(actor, resource, scope=query.scope_for(actor, resource, purpose=payload.purpose), sql=payload.sql,
                       filters=payload.filters, as_of=payload.as_of, limit=payload.limit)
    return {"columns": result.columns, "rows": [list(r) for r in result.rows], "snapshot": result.snapshot.version,
            "receipt": {"event": result.audit_seq, "hash": result.audit_hash}}


class UsageOut(Schema):
    at: dt.datetime
    organisation: str | None
    resource: str
    purpose: str
    items: list[str]
    row_count: int
    audit_seq: int | None

    @staticmethod
    def resolve_organisation(obj):
        return obj.organisation.name if obj.organisation else None

    @staticmethod
    def resolve_resource(obj):
        return obj.resource.code


@router.get("/usage-logs", response=list[UsageOut])
def usage_logs(request, organisation: int | None = None):
    """A6: usage logs per agency."""
    return list(selectors.usage_logs(request.actor, organisation=organisation)[:500])


class FrontEndIn(Schema):
    name: str = Field(max_length=100)
    public_key: str = Field(description="Ed25519 public key, base64 of the 32 raw bytes (gongshu frontend keygen)")


class FrontEndOut(Schema):
    id: int
    name: str
    public_key: str
    created_at: dt.datetime


@router.post("/front-ends", response={201: FrontEndOut})
def register_front_end(request, payload: FrontEndIn):
    """An agency registers its front-end machine's public key."""
    return Status(201, services.register_front_end(request.actor, name=payload.name, public_key=payload.public_key))


@router.post("/push", response={201: BatchDetail, 422: BatchDetail}, auth=None)
def push(request, resource: str, mode: str = "full", filename: str = "push.csv", encoding: str | None = None):
    """A1 front-end machine push: the body is the file; the request is signed by the machine's key."""
    import tempfile
    from pathlib import Path

    from catalog.models import Resource

    body = request.body
    actor = services.authenticate_push(headers=request.headers, method=request.method, path_with_query=request.get_full_path(),
                                       body=body, request_id=getattr(request, "request_id", ""))
    target = Resource.objects.filter(code=resource).first()
    if target is None:
        raise ValidationFailed("没有这个目录", field="resource")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(filename).name
        path.write_bytes(body)
        batch = services.ingest_file(actor, target, path, filename=filename, encoding=encoding, mode=mode, channel="front_end")
    return Status(201 if batch.status == "published" else 422, batch)


class ExtractionIn(Schema):
    kind: str = Field(description="postgresql or sqlite")
    dsn: str = Field(description="connection string; stored sealed with the platform's master key")
    table: str
    mode: str = "full"
    watermark_column: str = ""
    interval_minutes: int = 1440


class ExtractionOut(Schema):
    id: int
    kind: str
    table: str
    mode: str
    watermark_column: str
    interval_minutes: int


@router.post("/{resource_id}/extractions", response={201: ExtractionOut})
def register_extraction(request, resource_id: int, payload: ExtractionIn):
    """A1 database extraction: the platform reads the agency's table on a schedule (full or incremental)."""
    resource = catalog_selectors.access_resource(request.actor, resource_id)
    return Status(201, services.register_extraction(request.actor, resource, **payload.dict()))
