"""The sharing API (S3, S4): share requests, grants, and calls on a grant answered with receipts."""

from __future__ import annotations

import datetime as dt

from django.http import HttpResponse
from ninja import Router, Schema, Status
from pydantic import Field

from access.calls import declared_purpose
from catalog import selectors as catalog_selectors
from core.auth import TokenAuth
from foundation import apijson
from foundation.errors import ValidationFailed
from workflow.api import CaseOut

from . import selectors, services

router = Router(tags=["sharing"])
RESERVED = {"fields", "purpose", "limit"}


class RequestIn(Schema):
    resource: int
    scenario: str = Field(description="应用场景: what the data is used for")
    basis: str = Field(description="履职依据: the duty or legal basis")
    method: str = Field(description="api | file | db_sync")
    items: list[str] = Field(description="item columns asked for")
    valid_until: dt.date
    row_filter: dict[str, list[str]] = Field(default_factory=dict, description="rows asked for: {column: [values]}")


class CaseRef(Schema):
    """Any sharing record that is a workflow case: where it stands and by when."""

    id: int
    case: str | None
    state: str | None
    due_on: dt.date | None

    @staticmethod
    def resolve_case(obj):
        return obj.case.number if obj.case else None

    @staticmethod
    def resolve_state(obj):
        return obj.case.state if obj.case else None

    @staticmethod
    def resolve_due_on(obj):
        return obj.case.due_on if obj.case else None


class RequestOut(CaseRef):
    resource: int = Field(alias="resource_id")
    applicant: str
    scenario: str
    method: str
    items: list[str]
    valid_until: dt.date
    share_type: str
    grant: str | None

    @staticmethod
    def resolve_applicant(obj):
        return obj.applicant.name

    @staticmethod
    def resolve_grant(obj):
        grant = getattr(obj, "grant", None)
        return grant.ref if grant else None


class GrantOut(Schema):
    ref: str
    kind: str
    resource: int = Field(alias="resource_id")
    resource_name: str
    holder: str
    items: list[str]
    row_filter: dict
    method: str
    purpose: str
    valid_from: dt.date
    valid_until: dt.date
    status: str
    status_reason: str

    @staticmethod
    def resolve_resource_name(obj):
        return obj.resource.name

    @staticmethod
    def resolve_holder(obj):
        return obj.holder.name


class Receipt(Schema):
    event: int = Field(description="the audit event's number: `gongshu audit prove EVENT`")
    hash: str


class CallOut(Schema):
    grant: str
    snapshot: int
    items: list[str]
    records: list[dict]
    receipt: Receipt


class QueryIn(Schema):
    sql: str = Field(description="a SELECT over the table `data` (the granted, masked view)")
    purpose: str | None = Field(None, description="required: the declared purpose, the grant's scenario")
    limit: int = 100


class RevokeIn(Schema):
    reason: str


def lookup_filters(actor, ref: str, params, *, exclude: frozenset[str] = frozenset()) -> dict[str, str]:
    """The keys a per-record lookup asks for: every query parameter but the reserved ones. A lookup with no
    key is refused with the entry's key named (it would otherwise answer the first rows of the view)."""
    filters = {k: v for k, v in params.items() if k not in RESERVED and k not in exclude}
    if not any(v.strip() for v in filters.values()):
        grant = selectors.access_grant(actor, ref)  # not the holder's: a 404, and no key name given away
        keys = [i.column for i in grant.resource.items.filter(is_key=True).order_by("position")] or list(grant.row_filter)
        key = keys[0] if keys else "key"
        raise ValidationFailed(f"请给出要查询的主键：?{key}=…（按主键逐条查询；批量请用 /query）", field=key, code="key_required")
    return filters


def answer(ref, result) -> dict:
    """A call's answer: the granted, masked records and the audit receipt (the same for a peer's call)."""
    return {"grant": ref, "snapshot": result.snapshot.version, "items": result.columns, "records": result.records,
            "receipt": {"event": result.audit_seq, "hash": result.audit_hash}}


def answered(request, ref, result, response: HttpResponse):
    """The answer rendered as it is into the operation's response: it is built above in the shape of
    ``CallOut`` from typed values, so the per-call path skips validating it again (the schema still
    documents it)."""
    return apijson.write(request, answer(ref, result), response)


@router.post("/requests", response={201: RequestOut})
def create_request(request, payload: RequestIn):
    """S3: apply for data. Unconditional entries go to the bureau; conditional ones to the provider."""
    resource = catalog_selectors.access_resource(request.actor, payload.resource)
    data = payload.dict(exclude={"resource"})
    return Status(201, services.request_share(request.actor, resource, **data))


@router.get("/requests", response=list[RequestOut])
def list_requests(request):
    return list(selectors.requests_for(request.actor)[:500])


@router.get("/requests/{request_id}", response=RequestOut)
def get_request(request, request_id: int):
    return selectors.access_request(request.actor, request_id)


@router.get("/grants", response=list[GrantOut])
def list_grants(request):
    """Grants held by the acting organisation, and grants on its data."""
    return list(selectors.grants_for(request.actor)[:500])


@router.get("/grants/{ref}", response=GrantOut)
def get_grant(request, ref: str):
    return selectors.access_grant(request.actor, ref)


class RevocationOut(Schema):
    case: str  # the revocation case the bureau reviews (/api/v1/cases/{case})
    state: str
    grant: GrantOut  # still in force until the bureau decides

    @staticmethod
    def resolve_case(obj):
        return obj.case.number

    @staticmethod
    def resolve_state(obj):
        return obj.case.state

    @staticmethod
    def resolve_grant(obj):
        return obj.entitlement


@router.post("/grants/{ref}/revoke", response={201: RevocationOut})
def revoke(request, ref: str, payload: RevokeIn):
    """Ask the bureau to revoke the grant before its end (the provider, or the bureau of its region): a
    revocation case; the grant stays in force until the bureau approves it."""
    return Status(201, services.revoke_grant(request.actor, selectors.access_grant(request.actor, ref), reason=payload.reason))


class OnwardIn(Schema):
    recipient: int = Field(description="the third party (an organisation id)")
    purpose: str = Field(description="what the third party uses the data for")
    items: list[str] = Field(description="data items (columns), within the grant's")


@router.post("/grants/{ref}/onward", response={201: CaseOut})
def ask_onward(request, ref: str, payload: OnwardIn):
    """S7, SYS Art. 33: the holder asks the provider's consent to provide the shared data to a third party;
    on consent the third party gets a grant no wider than the holder's."""
    from core.selectors import active_organisation

    grant = selectors.access_grant(request.actor, ref)
    onward = services.ask_onward(request.actor, grant, recipient=active_organisation(payload.recipient),
                                 purpose=payload.purpose, items=payload.items)
    return Status(201, onward.case)


class UseReportIn(Schema):
    kind: str = Field(description="effect | storage | destruction")
    text: str = Field(description="what the agency reports")
    on: dt.date | None = Field(None, description="the day it concerns (today by default)")


class UseReportOut(Schema):
    id: int
    kind: str
    text: str
    on: dt.date


@router.post("/grants/{ref}/use-reports", response={201: UseReportOut})
def report_use(request, ref: str, payload: UseReportIn):
    """A6, SYS Art. 20: the holder reports the effect of its use, the data's storage or its destruction."""
    grant = selectors.access_grant(request.actor, ref)
    return Status(201, services.report_use(request.actor, grant, **payload.dict()))


def _query_param(name: str, description: str, schema: dict, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


# The per-record lookup is the busiest route: its query string is read once, here, instead of through a
# parameter model (a pydantic model per call); the parameters are documented here for OpenAPI.
_RECORDS_PARAMETERS = [
    _query_param("citizen_id", "required: the key to look up (any key item of the entry: the parameter is its column)",
                 {"type": "string"}),
    _query_param("fields", "granted items to return, comma-separated (default: all granted items)", {"type": "string"}),
    _query_param("purpose", "the declared purpose; must be the grant's scenario", {"type": "string"}, required=True),
    _query_param("limit", "most rows to return", {"type": "integer", "default": 100}),
]


@router.get("/{ref}/records", response=CallOut, openapi_extra={"parameters": _RECORDS_PARAMETERS})
def records(request, ref: str, response: HttpResponse):
    """S4 per-record lookup, e.g. `?citizen_id=…&purpose=…`: restricted to the grant, masked by grade, logged,
    answered with a receipt. Any other query parameter is a key to look up; a purpose and a key are required."""
    params = request.GET
    purpose = declared_purpose(params.get("purpose"))
    limit = params.get("limit", "100")
    if not limit.isdigit():
        raise ValidationFailed("返回行数须为整数", field="limit")
    filters = lookup_filters(request.actor, ref, params)
    fields = params.get("fields")
    result = services.call(request.actor, ref, filters=filters, fields=fields.split(",") if fields else None,
                           purpose=purpose, limit=int(limit), operation="lookup")
    return answered(request, ref, result, response)


@router.post("/{ref}/query", response=CallOut, auth=TokenAuth(reads=True))
def batch_query(request, ref: str, payload: QueryIn, response: HttpResponse):
    """S4 batch query: SQL over the granted, masked view only."""
    result = services.call(request.actor, ref, sql=payload.sql, purpose=declared_purpose(payload.purpose), limit=payload.limit,
                           operation="query")
    return answered(request, ref, result, response)


class CorrectionIn(Schema):
    resource: int
    key: dict[str, str] = Field(description="the record: {key column: value}, e.g. your citizen ID")
    column: str
    claimed_value: str
    reason: str
    source: str = Field("person", description="person | organisation | cross_check")


class CorrectionOut(CaseRef):
    resource: int = Field(alias="resource_id")
    source: str
    column: str
    claimed_value: str
    snapshot: int | None

    @staticmethod
    def resolve_snapshot(obj):
        snapshot = getattr(obj.batch, "snapshot", None) if obj.batch else None
        return snapshot.version if snapshot else None


@router.post("/corrections", response={201: CorrectionOut})
def create_correction(request, payload: CorrectionIn):
    """S5: dispute data about yourself (or report a mismatch found by cross-checking)."""
    resource = catalog_selectors.access_resource(request.actor, payload.resource)
    return Status(201, services.raise_correction(request.actor, resource, **payload.dict(exclude={"resource"})))


@router.get("/corrections", response=list[CorrectionOut])
def list_corrections(request):
    return list(selectors.corrections_for(request.actor)[:500])


class DemandIn(Schema):
    provider: int = Field(description="the organisation asked for the data")
    data: str
    scenario: str
    basis: str
    resource: int | None = None


class DisputeIn(Schema):
    resource: int
    subject: str
    detail: str


class BackflowIn(Schema):
    resource: int


@router.post("/demands", response={201: CaseRef})
def create_demand(request, payload: DemandIn):
    """S8: ask a provider for data (catalogued or not); it answers within the rulebook's deadline."""
    from core.selectors import active_organisation

    provider = active_organisation(payload.provider)
    resource = catalog_selectors.access_resource(request.actor, payload.resource) if payload.resource else None
    return Status(201, services.raise_demand(request.actor, provider=provider, data=payload.data, scenario=payload.scenario,
                                             basis=payload.basis, resource=resource))


@router.post("/disputes", response={201: CaseRef})
def create_dispute(request, payload: DisputeIn):
    """S6: raise a dispute with a provider; negotiation first, then the bureaus."""
    resource = catalog_selectors.access_resource(request.actor, payload.resource)
    return Status(201, services.raise_dispute(request.actor, resource, subject=payload.subject, detail=payload.detail))


@router.post("/backflow", response={201: GrantOut})
def create_backflow(request, payload: BackflowIn):
    """A7: a county or district body takes back the city-level data about its region (no review)."""
    resource = catalog_selectors.access_resource(request.actor, payload.resource)
    return Status(201, services.backflow(request.actor, resource))


@router.get("/{ref}/delivery")
def delivery(request, ref: str, purpose: str | None = None, format: str = "csv", since: int | None = None):
    """S4 file delivery and database sync: the whole granted view (items, rows, masks), never more, as CSV
    (a file) or JSON Lines (for the holder's sync job; ``since`` = the snapshot it already has), for the
    declared ``purpose`` (required: the grant's scenario). The receipt is in the X-Gongshu-Receipt headers."""
    import json

    from django.http import HttpResponse

    from catalog.exports import csv_bytes
    from foundation.errors import ValidationFailed

    purpose = declared_purpose(purpose)
    if format not in ("csv", "jsonl"):
        raise ValidationFailed("格式须为 csv 或 jsonl", field="format")
    grant = selectors.access_grant(request.actor, ref)
    if since is not None and grant.method == "db_sync":
        from warehouse.query import snapshot_of

        if snapshot_of(grant.resource).version == since:
            response = HttpResponse(status=204)
            response["X-Gongshu-Snapshot"] = str(since)
            return response
    result = services.call(request.actor, ref, purpose=purpose, operation="sync" if grant.method == "db_sync" else "file")
    if format == "csv":
        body, kind = csv_bytes([result.columns] + [list(r) for r in result.rows]), "text/csv; charset=utf-8"
    else:
        body = "\n".join(json.dumps(r, ensure_ascii=False, default=str) for r in result.records).encode()
        kind = "application/x-ndjson"
    response = HttpResponse(body, content_type=kind)
    response["Content-Disposition"] = f"attachment; filename={ref}-v{result.snapshot.version}.{format}"
    response["X-Gongshu-Snapshot"] = str(result.snapshot.version)
    response["X-Gongshu-Receipt-Event"] = str(result.audit_seq)
    response["X-Gongshu-Receipt-Hash"] = result.audit_hash
    return response


class RemoteIn(Schema):
    peer: str = Field(description="the upper instance (e.g. the province)")
    resource_code: str
    scenario: str
    basis: str
    method: str = "api"
    items: list[str]
    valid_until: dt.date


class RemoteOut(Schema):
    id: int
    peer: str
    resource_code: str
    case_number: str
    state: str
    grant_ref: str

    @staticmethod
    def resolve_peer(obj):
        return obj.peer.name


@router.get("/remote/catalog")
def remote_catalog(request, peer: str):
    """S9: the upper instance's catalog, fetched through this platform."""
    from . import federation

    return {"entries": federation.remote_catalog(peer)}


@router.post("/remote/requests", response={201: RemoteOut})
def forward(request, payload: RemoteIn):
    """S9: apply for data held at the upper level; the request goes through this platform, signed."""
    from . import federation

    return Status(201, federation.forward_request(request.actor, payload.peer, **payload.dict(exclude={"peer"})))


@router.get("/remote/requests/{remote_id}/records")
def remote_records(request, remote_id: int):
    """S9: a lookup on the upper instance's grant, ``?<key>=…&purpose=…`` (the scenario applied for); both
    instances log it, both receipts come back."""
    from . import federation

    purpose = declared_purpose(request.GET.get("purpose"))
    remote = selectors.remote_requests_for(request.actor).filter(pk=remote_id).first()
    if remote is None:
        from foundation.errors import NotFound

        raise NotFound("没有这个上级申请")
    return federation.call_remote(request.actor, remote, filters={k: v for k, v in request.GET.items() if k not in RESERVED},
                                  purpose=purpose)
