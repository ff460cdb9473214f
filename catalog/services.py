"""Writes of the catalog: drafting, submitting and publishing entries (C1, C2)."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils import timezone

from audit.services import record, service
from core import permissions
from core.actor import Actor
from core.errors import Conflict, ValidationFailed
from core.selectors import bureau_for, city_of, service_centre_for
from workflow import services as workflow
from workflow.models import Case

from .models import DataItem, Resource, ResourceVersion

EDITABLE_FIELDS = (
    "name", "summary", "data_format", "industry_category", "temporal_start", "temporal_end", "spatial_coverage",
    "update_frequency", "share_type", "share_conditions", "share_methods", "open_type", "open_conditions",
    "operation_status", "operation_scenarios", "legal_basis",
)
ITEM_FIELDS = ("name", "column", "data_type", "length", "description", "is_key", "required")

# Fields a submitted entry must have (SYS Art. 12).
MANDATORY_ON_SUBMIT = {
    "name": "数据资源名称",
    "summary": "数据资源摘要",
    "data_format": "数据格式",
    "industry_category": "行业分类",
    "update_frequency": "更新频率",
    "share_methods": "共享方式",
}


def _problems(fields: dict, items: list[dict], *, submitting: bool) -> dict[str, list[str]]:
    """Field-level problems of an entry; with ``submitting`` also what SYS Art. 12 requires."""
    errors: dict[str, list[str]] = {}

    def add(field, message):
        errors.setdefault(field, []).append(message)

    if not (fields.get("name") or "").strip():
        add("name", "请填写数据资源名称")
    if submitting:
        for field, label in MANDATORY_ON_SUBMIT.items():
            if field != "name" and not fields.get(field):
                add(field, f"请填写{label}")
        if not items:
            add("items", "至少需要一个数据项")
    share_type = fields.get("share_type")
    if share_type not in Resource.ShareType.values:
        add("share_type", "共享类型无效")
    # S1, SYS Art. 25: conditional and not-shared entries need a legal basis; conditional ones their conditions.
    if share_type in (Resource.ShareType.CONDITIONAL, Resource.ShareType.NOT_SHARED) and not (fields.get("legal_basis") or "").strip():
        add("legal_basis", "有条件共享或不予共享的数据须提供法律法规依据")
    if share_type == Resource.ShareType.CONDITIONAL and not (fields.get("share_conditions") or "").strip():
        add("share_conditions", "有条件共享的数据须说明共享条件")
    if set(fields.get("share_methods") or []) - set(Resource.ShareMethod.values):
        add("share_methods", "共享方式无效")
    open_type = fields.get("open_type")
    if open_type not in Resource.OpenType.values:
        add("open_type", "开放类型无效")
    if open_type == Resource.OpenType.CONDITIONAL and not (fields.get("open_conditions") or "").strip():
        add("open_conditions", "有条件开放的数据须说明开放条件")
    if open_type == Resource.OpenType.NOT_OPEN and (fields.get("open_conditions") or "").strip():
        add("open_conditions", "不予开放的数据不应填写开放条件")
    if fields.get("operation_status") not in Resource.OperationStatus.values:
        add("operation_status", "授权运营状态无效")
    elif fields["operation_status"] != Resource.OperationStatus.NONE and not (fields.get("operation_scenarios") or "").strip():
        add("operation_scenarios", "纳入授权运营的数据须填写应用场景")
    start, end = fields.get("temporal_start"), fields.get("temporal_end")
    if start and end and end < start:
        add("temporal_end", "覆盖时间止不能早于起")
    for choice_field, choices in (
        ("data_format", Resource.DataFormat.values),
        ("industry_category", [c for c, _ in Resource._meta.get_field("industry_category").choices]),
        ("update_frequency", Resource.UpdateFrequency.values),
    ):
        if fields.get(choice_field) and fields[choice_field] not in choices:
            add(choice_field, "取值无效")
    seen_columns, seen_names = set(), set()
    for i, item in enumerate(items):
        prefix = f"items.{i}"
        name, column = (item.get("name") or "").strip(), (item.get("column") or "").strip()
        if not name:
            add(f"{prefix}.name", "请填写数据项名称")
        if not column or not column.replace("_", "").isalnum() or not column.isascii() or column[0].isdigit():
            add(f"{prefix}.column", "字段名须为字母、数字或下划线，且不以数字开头")
        if item.get("data_type", "string") not in DataItem.DataType.values:
            add(f"{prefix}.data_type", "数据项格式无效")
        if column in seen_columns:
            add(f"{prefix}.column", "字段名重复")
        if name and name in seen_names:
            add(f"{prefix}.name", "数据项名称重复")
        seen_columns.add(column)
        seen_names.add(name)
    return errors


def _refuse_if(errors: dict[str, list[str]]) -> None:
    if errors:
        field, messages = next(iter(errors.items()))
        raise ValidationFailed(messages[0], field=field, errors=errors)


def _normalise(fields: dict) -> dict:
    clean = {k: fields.get(k) for k in EDITABLE_FIELDS if k in fields}
    for key in ("name", "summary", "share_conditions", "open_conditions", "operation_scenarios", "legal_basis"):
        if key in clean and clean[key] is not None:
            clean[key] = str(clean[key]).strip()
    if "share_methods" in clean:
        clean["share_methods"] = sorted(set(clean["share_methods"] or []))
    return clean


def _current_fields(resource: Resource) -> dict:
    return {k: getattr(resource, k) for k in EDITABLE_FIELDS}


def _item_dicts(items) -> list[dict]:
    out = []
    for item in items:
        get = item.get if isinstance(item, dict) else (lambda k, d=None, _i=item: getattr(_i, k, d))
        out.append({
            "name": (get("name") or "").strip(),
            "column": (get("column") or "").strip(),
            "data_type": get("data_type") or DataItem.DataType.STRING,
            "length": get("length"),
            "description": (get("description") or "").strip(),
            "is_key": bool(get("is_key", False)),
            "required": bool(get("required", False)),
        })
    return out


def _write_items(resource: Resource, items: list[dict]) -> None:
    resource.items.all().delete()
    DataItem.objects.bulk_create([DataItem(resource=resource, position=i, **item) for i, item in enumerate(items)])


def _next_code(provider) -> str:
    stem = f"{provider.region.code}-{(provider.uscc or '')[8:16]}"
    count = Resource.objects.filter(code__startswith=stem).count()
    return f"{stem}-{count + 1:04d}"


@service
def draft_resource(actor: Actor, *, fields: dict, items: list[dict]) -> Resource:
    """An agency compiles a new entry for its own organisation (C2 step 1)."""
    permissions.require(actor, "catalog.draft", organisation=actor.organisation)
    fields = _normalise(fields)
    fields.setdefault("share_type", Resource.ShareType.UNCONDITIONAL)
    fields.setdefault("open_type", Resource.OpenType.NOT_OPEN)
    fields.setdefault("operation_status", Resource.OperationStatus.NONE)
    fields.setdefault("spatial_coverage", actor.organisation.region)
    items = _item_dicts(items)
    _refuse_if(_problems(fields, items, submitting=False))
    resource = Resource(provider=actor.organisation, code=_next_code(actor.organisation), **fields)
    resource.save()
    _write_items(resource, items)
    record(actor, "catalog.draft_resource", resource, after={"name": resource.name, "items": len(items)})
    return resource


@service
def update_draft(actor: Actor, resource: Resource, *, fields: dict, items: list[dict] | None = None) -> Resource:
    """Edit the working copy of an entry that is not under review."""
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    permissions.require(actor, "catalog.draft", organisation=resource.provider)
    if resource.status == Resource.Status.IN_REVIEW:
        raise Conflict("目录正在审核中，不能修改", code="in_review")
    before = _current_fields(resource)
    merged = {**before, **_normalise(fields)}
    items = _item_dicts(items) if items is not None else _item_dicts(resource.items.all())
    _refuse_if(_problems(merged, items, submitting=False))
    for key, value in merged.items():
        setattr(resource, key, value)
    if resource.status == Resource.Status.PUBLISHED:
        resource.status = Resource.Status.DRAFT  # an update of a published entry; the published version stays visible
    resource.save()
    _write_items(resource, items)
    changed = {k: str(merged[k]) for k in merged if merged[k] != before[k]}
    record(actor, "catalog.update_draft", resource, after=changed)
    return resource


def _parties(resource: Resource) -> dict:
    region = resource.provider.region
    city = city_of(region)
    parties = {
        "provider": resource.provider,
        "bureau": bureau_for(region),
        "service_centre": service_centre_for(city),
        "city_bureau": bureau_for(city),
    }
    missing = [name for name, org in parties.items() if org is None]
    if missing:
        raise Conflict(f"本区域缺少办理机构：{', '.join(missing)}", code="no_reviewer")
    return parties


def open_review(resource: Resource) -> Case | None:
    return Case.objects.filter(
        case_type__in=["catalog_review", "catalog_update_review"], subject_id=str(resource.pk), closed_at=None
    ).first()


@service
def submit_resource(actor: Actor, resource: Resource) -> Case:
    """The agency's data officer submits the entry to the bureau (C2 step 2); returned entries are resubmitted."""
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    permissions.require(actor, "catalog.submit", organisation=resource.provider)
    case = open_review(resource)
    if case is not None:
        if case.state != "returned":
            raise Conflict("目录已在审核中", code="in_review")
        return workflow.transition(actor, case, "resubmit")
    is_update = resource.published_version is not None
    return workflow.open_case(
        actor,
        case_type="catalog_update_review" if is_update else "catalog_review",
        subject=resource,
        title=f"{'目录更新' if is_update else '目录编制'}：{resource.name}",
        parties=_parties(resource),
        initial="bureau_review",
        transition="submit",
        label="提交审核",
    )


# --- hooks called by the workflow engine inside the transition's transaction -----------------


def snapshot_for_review(actor: Actor, case: Case) -> None:
    """Entering review: the working copy must be complete; it is frozen as a new version."""
    resource = Resource.objects.select_for_update().get(pk=case.subject_id)
    items = _item_dicts(resource.items.all())
    _refuse_if(_problems(_current_fields(resource), items, submitting=True))
    resource.version += 1
    resource.status = Resource.Status.IN_REVIEW
    resource.save(update_fields=["version", "status", "updated_at"])
    ResourceVersion.objects.create(
        resource=resource, number=resource.version, data=version_data(resource, items), created_by=actor.user, case=case
    )


def mark_returned(actor: Actor, case: Case) -> None:
    Resource.objects.filter(pk=case.subject_id).update(status=Resource.Status.RETURNED, updated_at=timezone.now())


def mark_withdrawn(actor: Actor, case: Case) -> None:
    Resource.objects.filter(pk=case.subject_id).update(status=Resource.Status.DRAFT, updated_at=timezone.now())


def publish_version(actor: Actor, case: Case) -> None:
    resource = Resource.objects.select_for_update().get(pk=case.subject_id)
    now = timezone.now()
    version = resource.versions.get(number=resource.version)
    version.published_at = now
    version.save(update_fields=["published_at"])
    resource.status = Resource.Status.PUBLISHED
    resource.published_version = version.number
    resource.published_at = now
    resource.save(update_fields=["status", "published_version", "published_at", "updated_at"])
    record(actor, "catalog.publish_version", resource, after={"version": version.number})


def version_data(resource: Resource, items: list[dict]) -> dict:
    data = {}
    for key in EDITABLE_FIELDS:
        value = getattr(resource, key)
        if isinstance(value, models.Model):
            value = {"id": value.pk, "code": getattr(value, "code", ""), "name": str(value)}
        elif isinstance(value, dt.date):
            value = value.isoformat()
        data[key] = value
    data["provider"] = {"id": resource.provider_id, "name": resource.provider_name, "code": resource.provider_code}
    data["items"] = items
    return data
