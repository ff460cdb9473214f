import datetime as dt

from ninja import Query, Router, Schema, Status
from pydantic import Field

from foundation.errors import NotFound
from workflow.api import CaseOut

from . import diff, selectors, services
from .models import ListEntry, Resource

router = Router(tags=["catalog"])


def _code(obj, field: str) -> str:
    related = getattr(obj, field)
    return related.code if related is not None else ""


class ItemIn(Schema):
    name: str = Field(max_length=100)
    column: str = Field(max_length=64)
    data_type: str = "string"
    length: int | None = None
    description: str = ""
    is_key: bool = False
    required: bool = False
    category: str = Field("", description="classification category code")
    grade: str = Field("", description="grade code, e.g. general_sensitive, important, core")
    sensitivity: str = ""
    source_type: str = Field("", description="SYS Art. 16 basic data type, e.g. household_registration")
    source_agency: int | None = None


class ItemOut(ItemIn):
    published_grade: str = ""

    @staticmethod
    def resolve_category(obj):
        return _code(obj, "category")

    @staticmethod
    def resolve_grade(obj):
        return _code(obj, "grade")

    @staticmethod
    def resolve_published_grade(obj):
        return _code(obj, "published_grade")

    @staticmethod
    def resolve_source_agency(obj):
        return obj.source_agency_id


class ResourceIn(Schema):
    name: str = Field(max_length=200)
    summary: str = ""
    data_format: str = ""
    industry_category: str = ""
    temporal_start: dt.date | None = None
    temporal_end: dt.date | None = None
    update_frequency: str = ""
    share_type: str = Resource.ShareType.UNCONDITIONAL
    share_conditions: str = ""
    share_methods: list[str] = []
    open_type: str = Resource.OpenType.NOT_OPEN
    open_conditions: str = ""
    operation_status: str = Resource.OperationStatus.NONE
    operation_scenarios: str = ""
    legal_basis: str = ""
    category: str = ""
    items: list[ItemIn] = []


class ResourcePatch(Schema):
    name: str | None = Field(None, max_length=200)
    summary: str | None = None
    data_format: str | None = None
    industry_category: str | None = None
    temporal_start: dt.date | None = None
    temporal_end: dt.date | None = None
    update_frequency: str | None = None
    share_type: str | None = None
    share_conditions: str | None = None
    share_methods: list[str] | None = None
    open_type: str | None = None
    open_conditions: str | None = None
    operation_status: str | None = None
    operation_scenarios: str | None = None
    legal_basis: str | None = None
    category: str | None = None
    change_reason: str | None = None
    items: list[ItemIn] | None = None


class ResourceOut(Schema):
    id: int
    code: str
    name: str
    summary: str
    data_format: str
    industry_category: str
    temporal_start: dt.date | None
    temporal_end: dt.date | None
    spatial_coverage: str
    update_frequency: str
    provider_name: str
    provider_code: str
    share_type: str
    share_conditions: str
    share_methods: list[str]
    open_to_society: bool
    open_type: str
    open_conditions: str
    operation_status: str
    operation_scenarios: str
    legal_basis: str
    category: str
    grade: str
    status: str
    version: int
    published_version: int | None
    mounted: bool
    items: list[ItemOut]

    @staticmethod
    def resolve_category(obj):
        return _code(obj, "category")

    @staticmethod
    def resolve_grade(obj):
        return _code(obj, "grade")

    @staticmethod
    def resolve_mounted(obj):
        return obj.mounted_at is not None

    @staticmethod
    def resolve_spatial_coverage(obj):
        return obj.spatial_coverage.code

    @staticmethod
    def resolve_items(obj):
        working_items = getattr(obj, "working_items", None)  # a working copy (catalog.services.working_copy)
        return working_items if working_items is not None else list(obj.items.select_related("category", "grade", "published_grade"))


class VersionOut(Schema):
    number: int
    created_at: dt.datetime
    published_at: dt.datetime | None
    data: dict


class CatalogFilters(Schema):
    q: str = Field("", description="Chinese full-text search over names, item names and summaries")
    provider: int | None = None
    category: str = ""
    grade: str = ""
    share_type: str = ""
    open_type: str = ""
    region: str = Field("", description="region code; the region and everything below it")
    status: str = ""


@router.get("/resources", response=list[ResourceOut])
def list_resources(request, filters: Query[CatalogFilters]):
    return selectors.catalog_list(request.actor, limit=200, **filters.dict())


@router.post("/resources", response={201: ResourceOut})
def draft_resource(request, payload: ResourceIn):
    data = payload.dict()
    items = data.pop("items")
    return Status(201, services.draft_resource(request.actor, fields=data, items=items))


@router.get("/resources/{resource_id}", response=ResourceOut)
def get_resource(request, resource_id: int):
    """The entry as published (what every party relies on); a never-published entry as drafted."""
    return selectors.access_resource(request.actor, resource_id)


@router.get("/resources/{resource_id}/draft", response=ResourceOut)
def get_working_copy(request, resource_id: int):
    """The working copy with its status: the provider's and its reviewers' only (C2, SYS Art. 13)."""
    return selectors.access_working_copy(request.actor, resource_id)


@router.patch("/resources/{resource_id}", response=ResourceOut)
def update_resource(request, resource_id: int, payload: ResourcePatch):
    """Edit the working copy; answers the working copy. The published entry is unchanged until reviewed."""
    resource = selectors.access_resource(request.actor, resource_id)
    data = payload.dict(exclude_unset=True)
    items = data.pop("items", None)
    services.update_draft(request.actor, resource, fields=data, items=items)
    return selectors.access_working_copy(request.actor, resource_id)


@router.post("/resources/{resource_id}/submit", response={201: CaseOut})
def submit_resource(request, resource_id: int):
    resource = selectors.access_resource(request.actor, resource_id)
    return Status(201, services.submit_resource(request.actor, resource))


@router.get("/resources/{resource_id}/versions", response=list[VersionOut])
def list_versions(request, resource_id: int):
    return selectors.access_resource(request.actor, resource_id).versions.order_by("number")


class ChangeOut(Schema):
    field: str
    label: str
    old: str | int | float | bool | None
    new: str | int | float | bool | None


class ItemChangeOut(Schema):
    column: str
    name: str
    kind: str
    changes: list[ChangeOut]


class CompareOut(Schema):
    a: int
    b: int
    fields: list[ChangeOut]
    items: list[ItemChangeOut]


@router.get("/resources/{resource_id}/compare", response=CompareOut)
def compare_versions(request, resource_id: int, a: int, b: int):
    """Two versions side by side (C2)."""
    resource = selectors.access_resource(request.actor, resource_id)
    versions = {v.number: v for v in resource.versions.filter(number__in=[a, b])}
    if a not in versions or b not in versions:
        raise NotFound("没有这个版本", field="a" if a not in versions else "b")
    fields, items = diff.compare(versions[a].data, versions[b].data)
    return {"a": a, "b": b, "fields": fields, "items": items}


class SampleIn(Schema):
    columns: list[str]
    rows: list[list[str | int | float | None]] = Field(max_length=100_000)


class SuggestionOut(Schema):
    id: int
    column: str
    sensitivity: str
    share: float
    matched: int
    non_empty: int
    category: str
    grade: str
    status: str

    @staticmethod
    def resolve_category(obj):
        return obj.category.code

    @staticmethod
    def resolve_grade(obj):
        return obj.grade.code


class BasisChangeIn(Schema):
    changed_on: dt.date = Field(description="the day the legal basis or statutory duties changed")
    change: str = Field(description="what changed")


@router.post("/resources/{resource_id}/basis-changes", response={201: CaseOut})
def record_basis_change(request, resource_id: int, payload: BasisChangeIn):
    """SYS Art. 13(1): the provider records a change of a published entry's legal basis or duties; the
    entry's update is due within catalog.update working days of that day (a catalog_update_duty case)."""
    resource = selectors.access_resource(request.actor, resource_id)
    return Status(201, services.record_basis_change(request.actor, resource, changed_on=payload.changed_on,
                                                    change=payload.change))


@router.post("/resources/{resource_id}/suggestions", response={201: list[SuggestionOut]})
def suggest_grades(request, resource_id: int, payload: SampleIn):
    """G4: scan a sample of rows; one suggestion per sensitive column."""
    resource = selectors.access_resource(request.actor, resource_id)
    return Status(201, services.suggest_grades(request.actor, resource, columns=payload.columns, rows=payload.rows))


class DecisionIn(Schema):
    accept: bool


@router.post("/suggestions/{suggestion_id}/decision", response=SuggestionOut)
def decide_suggestion(request, suggestion_id: int, payload: DecisionIn):
    suggestion = selectors.access_suggestion(request.actor, suggestion_id)
    return services.decide_suggestion(request.actor, suggestion, accept=payload.accept)


class ListOut(Schema):
    kind: str
    year: int | None
    columns: list[str]
    rows: list[list[str | int | None]]


@router.get("/lists/{kind}", response=ListOut)
def get_list(request, kind: str, year: int | None = None):
    """C4: demand, responsibility, negative, open responsibility, annual open priority."""
    if kind not in ListEntry.Kind.values:
        raise NotFound("没有这个清单", field="kind")
    return {"kind": kind, "year": year, "columns": selectors.LIST_COLUMNS, "rows": selectors.list_rows(request.actor, kind, year)}


class ImportantOut(Schema):
    region: str
    provider: str
    resource: str
    code: str
    item: str
    grade: str


@router.get("/important-data", response=list[ImportantOut])
def important_data(request, region: str = ""):
    """G3: the important-data catalog."""
    return [
        {"region": i.resource.provider.region.name, "provider": i.resource.provider.name, "resource": i.resource.name,
         "code": i.resource.code, "item": i.name, "grade": i.published_grade.code}
        for i in selectors.important_data(request.actor, region=region)
    ]
