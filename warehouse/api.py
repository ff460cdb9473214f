import datetime as dt

from ninja import Router, Schema, Status
from pydantic import Field, model_validator

from catalog import selectors as catalog_selectors
from core.auth import TokenAuth
from foundation.errors import ValidationFailed
from workflow.api import CaseOut

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


class BatchRefused(BatchDetail):
    """A refused delivery: the error shape (``code``, ``message``, ``field``) with the batch and its problems."""

    code: str = "batch_refused"
    field: str | None = None


@router.post("/{resource_id}/records", response={201: BatchDetail, 422: BatchRefused})
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


class AssignIn(Schema):
    comment: str = Field("", description="what the provider is to verify (the checks' rules when empty)")


class ProblemIn(Schema):
    column: str = Field(description="the data item (column) the problem is in")
    message: str = Field(description="what is wrong, and in which record")
    value: str = Field("", description="the value found")


@router.post("/batches/{batch_id}/assign", response={201: CaseOut})
def assign_problem_data(request, batch_id: int, payload: AssignIn):
    """A3: the problem rows the checks kept out of a batch go to its provider as one case, due within the
    rulebook's deadline (the bureau over the provider, or its service centre)."""
    batch = selectors.access_batch(request.actor, batch_id)
    return Status(201, services.assign_problem_data(request.actor, batch, comment=payload.comment))


@router.post("/{resource_id}/problems", response={201: CaseOut})
def report_problem_data(request, resource_id: int, payload: ProblemIn):
    """A3: a problem found outside the checks (cross-verification, a report) assigned to the provider."""
    resource = catalog_selectors.access_resource(request.actor, resource_id)
    return Status(201, services.report_problem_data(request.actor, resource, **payload.dict()))


class GovernanceIn(Schema):
    subject: str = Field(description="what is to be governed")
    detail: str = Field(description="the problem and what is asked of the bureau")
    resources: list[int] = Field([], description="the catalog entries concerned: the agency's own or published ones")


@router.post("/governance-requests", response={201: CaseOut})
def request_governance(request, payload: GovernanceIn):
    """SYS Art. 17(3): a data-governance request to the data bureau of the agency's level; answered within the
    rulebook's deadline (governance.answer)."""
    resources = [catalog_selectors.access_resource(request.actor, pk) for pk in payload.resources]
    made = services.request_governance(request.actor, subject=payload.subject, detail=payload.detail, resources=resources)
    return Status(201, made.case)


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


@router.post("/push", response={201: BatchDetail, 422: BatchRefused}, auth=None)
def push(request, resource: str, mode: str = "full", filename: str = "push.csv", encoding: str | None = None):
    """A1 front-end machine push: the body is the file; the request is signed by the machine's key."""
    import tempfile
    from pathlib import Path

    body = request.body
    actor = services.authenticate_push(request, body=body)
    target = catalog_selectors.entry_by_code(resource)
    if target is None:
        raise ValidationFailed("没有这个目录", field="resource")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(filename).name
        path.write_bytes(body)
        batch = services.ingest_file(actor, target, path, filename=filename, encoding=encoding, mode=mode, channel="front_end")
    return Status(201 if batch.status == "published" else 422, batch)


SOURCE_NOT_REGISTERED = ("库表抽取不再接受连接串：请先登记源数据库（POST /api/v1/data/sources）并经主管部门批准，"
                         "再以 source_database 指定")


class SourceDatabaseIn(Schema):
    name: str = Field(max_length=100)
    kind: str = Field(description="sqlite or postgresql")
    path: str = Field("", description="SQLite: the file, relative to the import directory (GONGSHU_IMPORT_DIR)")
    host: str = Field("", description="PostgreSQL: host name or address; every address it resolves to must be on the bureau's allowlist")
    port: int | None = None
    database: str = ""
    user: str = Field("", description="PostgreSQL: a read-only login role, never a superuser")
    password: str = Field("", description="stored sealed with the platform's master key, never returned")


class SourceDatabaseOut(Schema):
    id: int
    organisation: str
    name: str
    kind: str
    path: str
    host: str
    port: int | None
    database: str
    user: str
    status: str
    status_reason: str
    case: str | None
    created_at: dt.datetime

    @staticmethod
    def resolve_organisation(obj):
        return obj.organisation.name

    @staticmethod
    def resolve_case(obj):
        return obj.case.number if obj.case_id else None


class ReasonIn(Schema):
    reason: str


@router.post("/sources", response={201: SourceDatabaseOut})
def register_source_database(request, payload: SourceDatabaseIn):
    """A1: an agency registers a source database; the bureau of its region approves it (the case's
    transitions, /cases/{number}/transitions) before anything is extracted from it."""
    return Status(201, services.register_source_database(request.actor, **payload.dict()))


@router.get("/sources", response=list[SourceDatabaseOut])
def list_source_databases(request):
    return list(selectors.source_databases(request.actor)[:500])


@router.get("/sources/{source_id}", response=SourceDatabaseOut)
def get_source_database(request, source_id: int):
    return selectors.access_source_database(request.actor, source_id)


@router.post("/sources/{source_id}/suspend", response=SourceDatabaseOut)
def suspend_source_database(request, source_id: int, payload: ReasonIn):
    """The bureau suspends extraction from an approved source."""
    source = selectors.access_source_database(request.actor, source_id)
    return services.suspend_source_database(request.actor, source, reason=payload.reason)


@router.post("/sources/{source_id}/reinstate", response=SourceDatabaseOut)
def reinstate_source_database(request, source_id: int, payload: ReasonIn):
    source = selectors.access_source_database(request.actor, source_id)
    return services.reinstate_source_database(request.actor, source, reason=payload.reason)


class SourceHostIn(Schema):
    network: str = Field(description="an address or a CIDR network, e.g. 10.20.0.0/16")
    note: str = Field(max_length=200)


class SourceHostOut(Schema):
    id: int
    network: str
    note: str
    region: str
    created_at: dt.datetime

    @staticmethod
    def resolve_region(obj):
        return obj.region.code


@router.get("/source-hosts", response=list[SourceHostOut])
def list_source_hosts(request):
    """The PostgreSQL host allowlist the bureau keeps (A1)."""
    return list(selectors.source_hosts(request.actor))


@router.post("/source-hosts", response={201: SourceHostOut})
def add_source_host(request, payload: SourceHostIn):
    return Status(201, services.add_source_host(request.actor, network=payload.network, note=payload.note))


@router.delete("/source-hosts/{entry_id}", response={204: None})
def remove_source_host(request, entry_id: int):
    services.remove_source_host(request.actor, selectors.access_source_host(request.actor, entry_id))
    return Status(204, None)


class ExtractionIn(Schema):
    source_database: int = Field(description="an approved source database of the provider (/data/sources)")
    table: str
    mode: str = "full"
    watermark_column: str = ""
    interval_minutes: int | None = None  # None: rule extraction.interval_default

    @model_validator(mode="before")
    @classmethod
    def _no_connection_string(cls, data):
        """A1: a free connection string (the old form of this request) is refused with the way forward."""
        given = getattr(data, "_obj", data)  # Ninja hands a getter around the request's object
        if isinstance(given, dict) and ("dsn" in given or "kind" in given):
            raise ValueError(SOURCE_NOT_REGISTERED)
        return data


class ExtractionOut(Schema):
    id: int
    source_database: int | None = Field(alias="source_database_id")
    table: str
    mode: str
    watermark_column: str
    interval_minutes: int
    last_run_at: dt.datetime | None


@router.post("/{resource_id}/extractions", response={201: ExtractionOut})
def register_extraction(request, resource_id: int, payload: ExtractionIn):
    """A1 database extraction: the platform reads a table of an approved source database on a schedule
    (full or incremental)."""
    resource = catalog_selectors.access_resource(request.actor, resource_id)
    source = selectors.access_source_database(request.actor, payload.source_database)
    return Status(201, services.register_extraction(request.actor, resource, source_database=source, table=payload.table,
                                                    mode=payload.mode, watermark_column=payload.watermark_column,
                                                    interval_minutes=payload.interval_minutes))


@router.get("/{resource_id}/extractions", response=list[ExtractionOut])
def list_extractions(request, resource_id: int):
    resource = catalog_selectors.access_resource(request.actor, resource_id)
    return list(selectors.extraction_sources(request.actor, resource))
