import datetime as dt

from ninja import Router, Schema, Status
from pydantic import Field

from workflow.api import CaseOut

from . import selectors, services
from .models import Resource

router = Router(tags=["catalog"])


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
        return obj.category.code if obj.category_id else ""

    @staticmethod
    def resolve_grade(obj):
        return obj.grade.code if obj.grade_id else ""

    @staticmethod
    def resolve_published_grade(obj):
        return obj.published_grade.code if obj.published_grade_id else ""

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
        return obj.category.code if obj.category_id else ""

    @staticmethod
    def resolve_grade(obj):
        return obj.grade.code if obj.grade_id else ""

    @staticmethod
    def resolve_mounted(obj):
        return obj.mounted_at is not None

    @staticmethod
    def resolve_spatial_coverage(obj):
        return obj.spatial_coverage.code

    @staticmethod
    def resolve_items(obj):
        return list(obj.items.select_related("category", "grade", "published_grade"))


class VersionOut(Schema):
    number: int
    created_at: dt.datetime
    published_at: dt.datetime | None
    data: dict


@router.get("/resources", response=list[ResourceOut])
def list_resources(request, q: str = "", status: str = "", provider: int | None = None):
    return selectors.catalog_list(request.actor, q=q, status=status, provider=provider).prefetch_related("items")[:500]


@router.post("/resources", response={201: ResourceOut})
def draft_resource(request, payload: ResourceIn):
    data = payload.dict()
    items = data.pop("items")
    return Status(201, services.draft_resource(request.actor, fields=data, items=items))


@router.get("/resources/{resource_id}", response=ResourceOut)
def get_resource(request, resource_id: int):
    return selectors.access_resource(request.actor, resource_id)


@router.patch("/resources/{resource_id}", response=ResourceOut)
def update_resource(request, resource_id: int, payload: ResourcePatch):
    resource = selectors.access_resource(request.actor, resource_id)
    data = payload.dict(exclude_unset=True)
    items = data.pop("items", None)
    return services.update_draft(request.actor, resource, fields=data, items=items)


@router.post("/resources/{resource_id}/submit", response={201: CaseOut})
def submit_resource(request, resource_id: int):
    resource = selectors.access_resource(request.actor, resource_id)
    return Status(201, services.submit_resource(request.actor, resource))


@router.get("/resources/{resource_id}/versions", response=list[VersionOut])
def list_versions(request, resource_id: int):
    return selectors.access_resource(request.actor, resource_id).versions.order_by("number")
