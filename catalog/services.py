"""Writes of the catalog: drafting, submitting and publishing entries (C1, C2)."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils import timezone

from audit.services import record, service
from foundation import permissions
from foundation.actor import Actor
from foundation.errors import Conflict, ValidationFailed, refuse_if
from foundation import rulebook
from foundation.rulebook import RulebookError
from core.models import Membership, Organisation
from core.selectors import bureau_for, city_of, service_centre_for
from core.services import notify
from grading.models import Category, Grade
from grading.discovery import discover
from grading.scheme import highest, sensitivity_types
from workflow import services as workflow
from workflow.models import Case

from . import search
from .models import DataItem, GradeSuggestion, ListEntry, Project, Resource, ResourceDraft, ResourceVersion
from .signals import grades_changed, share_type_changed

EDITABLE_FIELDS = (
    "name", "summary", "data_format", "industry_category", "temporal_start", "temporal_end", "spatial_coverage",
    "update_frequency", "share_type", "share_conditions", "share_methods", "open_type", "open_conditions",
    "operation_status", "operation_scenarios", "legal_basis", "category", "change_reason",
)
ITEM_FIELDS = (
    "name", "column", "data_type", "length", "description", "is_key", "required", "category", "grade",
    "sensitivity", "source_type", "source_agency",
)

# Fields a submitted entry must have (SYS Art. 12): the rulebook's, each an entry field (labelled by its model field).
SUBMIT_FIELDS_RULE = "catalog.submit_fields"


def _check_submit_fields(rule: rulebook.Rule) -> None:
    unknown = [name for name in rule.value if name not in EDITABLE_FIELDS]
    if unknown:
        raise RulebookError(f"规则 {rule.key} 含目录条目没有的字段 {', '.join(unknown)}", code="rulebook_invalid")


rulebook.register_check(SUBMIT_FIELDS_RULE, _check_submit_fields)


class _Lookups:
    """The codes an entry may refer to, loaded once per validation."""

    def __init__(self):
        self.grades = {g.code: g for g in Grade.objects.all()}
        self.categories = {c.code: c for c in Category.objects.all()}
        self.sensitivities = set(sensitivity_types())
        self.sources = rulebook.current().sources
        self._orgs: dict[int, Organisation | None] = {}

    def organisation(self, pk) -> Organisation | None:
        if pk not in self._orgs:
            self._orgs[pk] = Organisation.objects.filter(pk=pk).first()
        return self._orgs[pk]


def _check_source(item: dict, prefix: str, add, lookups: _Lookups) -> None:
    """C5, SYS Art. 15–16: a basic data type has statutory source agencies; an item may not claim another."""
    source_type, agency_id = item.get("source_type"), item.get("source_agency")
    if not source_type:
        if agency_id:
            add(f"{prefix}.source_type", "指定数源部门时须选择基础数据类型")
        return
    designation = lookups.sources.get(source_type)
    if designation is None:
        add(f"{prefix}.source_type", "基础数据类型无效")
        return
    agency = lookups.organisation(agency_id) if agency_id else None
    if agency_id and agency is None:
        add(f"{prefix}.source_agency", "数源部门不存在")
    elif agency is not None and agency.sector not in designation.sectors:
        add(f"{prefix}.source_agency", f"“{designation.label}”的法定数源部门不是{agency.name}（{designation.article}）")


def _problems(fields: dict, items: list[dict], *, submitting: bool, lookups: _Lookups | None = None) -> dict[str, list[str]]:
    """Field-level problems of an entry; with ``submitting`` also what SYS Art. 12 requires."""
    lookups = lookups or _Lookups()
    errors: dict[str, list[str]] = {}

    def add(field, message):
        errors.setdefault(field, []).append(message)

    if not (fields.get("name") or "").strip():
        add("name", "请填写数据资源名称")
    if submitting:
        for field in rulebook.names(SUBMIT_FIELDS_RULE):
            if field != "name" and not fields.get(field):
                add(field, f"请填写{Resource._meta.get_field(field).verbose_name}")
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
    category = fields.get("category")
    if category is not None and not isinstance(category, Category) and category not in lookups.categories:
        add("category", "数据分类无效")
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
        if item.get("grade") and item["grade"] not in lookups.grades:
            add(f"{prefix}.grade", "数据分级无效")
        elif submitting and not item.get("grade"):
            add(f"{prefix}.grade", "汇聚前须对每个数据项分级（SYS Art. 11）")
        if item.get("category") and item["category"] not in lookups.categories:
            add(f"{prefix}.category", "数据分类无效")
        if item.get("sensitivity") and item["sensitivity"] not in lookups.sensitivities:
            add(f"{prefix}.sensitivity", "敏感类型无效")
        _check_source(item, prefix, add, lookups)
        if column in seen_columns:
            add(f"{prefix}.column", "字段名重复")
        if name and name in seen_names:
            add(f"{prefix}.name", "数据项名称重复")
        seen_columns.add(column)
        seen_names.add(name)
    return errors


def _normalise(fields: dict) -> dict:
    """Editable fields in their stored (JSON) form: category as its code, the region as its id, dates ISO."""
    clean = {k: fields.get(k) for k in EDITABLE_FIELDS if k in fields}
    for key in ("name", "summary", "share_conditions", "open_conditions", "operation_scenarios", "legal_basis", "change_reason"):
        if key in clean:
            clean[key] = str(clean[key] or "").strip()
    if "share_methods" in clean:
        clean["share_methods"] = sorted(set(clean["share_methods"] or []))
    if isinstance(clean.get("category"), Category):
        clean["category"] = clean["category"].code
    if isinstance(clean.get("spatial_coverage"), models.Model):
        clean["spatial_coverage"] = clean["spatial_coverage"].pk
    for key in ("temporal_start", "temporal_end"):
        if isinstance(clean.get(key), dt.date):
            clean[key] = clean[key].isoformat()
    return clean


def _current_fields(resource: Resource) -> dict:
    """The live entry's fields in their stored form."""
    return _normalise({k: getattr(resource, k) for k in EDITABLE_FIELDS})


def _code(value):
    return getattr(value, "code", value) or ""


def _item_dicts(items) -> list[dict]:
    """Items as plain dicts (codes for category and grade, an id for the source agency)."""
    out = []
    for item in items:
        get = item.get if isinstance(item, dict) else (lambda k, d=None, _i=item: getattr(_i, k, d))
        agency = get("source_agency")
        out.append({
            "name": (get("name") or "").strip(),
            "column": (get("column") or "").strip(),
            "data_type": get("data_type") or DataItem.DataType.STRING,
            "length": get("length"),
            "description": (get("description") or "").strip(),
            "is_key": bool(get("is_key", False)),
            "required": bool(get("required", False)),
            "category": _code(get("category")),
            "grade": _code(get("grade")),
            "sensitivity": get("sensitivity") or "",
            "source_type": get("source_type") or "",
            "source_agency": getattr(agency, "pk", agency) or None,
        })
    return out


def _resolve_sources(provider: Organisation, items: list[dict], lookups: _Lookups) -> None:
    """An item of a basic data type without a named source agency gets its statutory one (nearest region)."""
    for item in items:
        if item["source_type"] and not item["source_agency"]:
            designation = lookups.sources.get(item["source_type"])
            if designation:
                agency = source_agency_for(provider.region, designation.sectors)
                item["source_agency"] = agency.pk if agency else None


def source_agency_for(region, sectors) -> Organisation | None:
    chain = region.ancestors_and_self()
    candidates = Organisation.objects.filter(kind=Organisation.Kind.AGENCY, sector__in=sectors, region__in=chain, is_active=True)
    by_region = {}
    for org in candidates.order_by("pk"):
        by_region.setdefault(org.region_id, org)
    return next((by_region[r.pk] for r in reversed(chain) if r.pk in by_region), None)


def _fill_item(item: DataItem, data: dict, position: int, lookups: _Lookups) -> DataItem:
    for key in ("name", "data_type", "length", "description", "is_key", "required", "sensitivity", "source_type"):
        setattr(item, key, data[key])
    item.position = position
    item.category = lookups.categories.get(data["category"])
    item.grade = lookups.grades.get(data["grade"])
    item.source_agency_id = data["source_agency"]
    return item


def _write_items(resource: Resource, items: list[dict], lookups: _Lookups) -> None:
    """Items are kept by column, so grants and suggestions that point at an item survive an edit."""
    existing = {i.column: i for i in resource.items.all()}
    keep = set()
    for position, data in enumerate(items):
        item = existing.get(data["column"]) or DataItem(resource=resource, column=data["column"])
        _fill_item(item, data, position, lookups).save()
        keep.add(item.column)
    resource.items.exclude(column__in=keep).delete()


def _write_live(resource: Resource, fields: dict, items: list[dict], lookups: _Lookups) -> None:
    """Write the live entry and its items. Only publication does this for a published entry; an entry
    never published is nobody else's to rely on, so it mirrors its working copy until then."""
    _apply_fields(resource, fields, lookups)
    resource.save()
    _write_items(resource, items, lookups)
    search.index(resource)


# --- the working copy (C2, SYS Art. 13: what is published governs) ------------------------------


def working(resource: Resource) -> tuple[dict, list[dict], str]:
    """The working copy's fields, items and status: the draft if there is one, else the live entry."""
    draft = ResourceDraft.objects.filter(resource=resource).first()
    if draft is not None:
        return dict(draft.fields), [dict(i) for i in draft.items], draft.status
    return _current_fields(resource), _item_dicts(resource.items.all()), resource.status


def working_copy(resource: Resource) -> Resource:
    """An unsaved copy of the entry as its working copy stands (for the provider's and its reviewers'
    pages and API), with ``working_items`` (unsaved items) and ``status`` the working status."""
    fields, items, status = working(resource)
    lookups = _Lookups()
    copy = Resource.objects.select_related("provider", "spatial_coverage", "category", "grade").get(pk=resource.pk)
    _apply_fields(copy, fields, lookups)
    copy.status = status
    in_force = {i.column: i.published_grade for i in resource.items.select_related("published_grade")}
    copy.working_items = []
    for position, data in enumerate(items):
        item = _fill_item(DataItem(resource=copy, column=data["column"]), data, position, lookups)
        item.published_grade = in_force.get(data["column"])
        copy.working_items.append(item)
    return copy


def _save_draft(actor: Actor, resource: Resource, fields: dict, items: list[dict], status: str) -> ResourceDraft:
    draft, _ = ResourceDraft.objects.get_or_create(resource=resource, defaults={"fields": fields, "items": items})
    draft.fields, draft.items, draft.status, draft.updated_by = fields, items, status, actor.user
    draft.save()
    return draft


def _set_working_status(resource: Resource, status: str) -> None:
    """A review step moves the draft; an entry never published shows the same status (nobody else sees it)."""
    ResourceDraft.objects.filter(resource=resource).update(status=status, updated_at=timezone.now())
    if resource.published_version is None:
        Resource.objects.filter(pk=resource.pk).update(status=status, updated_at=timezone.now())


def _apply_fields(resource: Resource, fields: dict, lookups: _Lookups) -> None:
    for key, value in fields.items():
        if key == "category":
            resource.category = lookups.categories.get(value) if value else None
        elif key == "spatial_coverage":
            resource.spatial_coverage_id = value
        elif key in ("temporal_start", "temporal_end"):
            setattr(resource, key, dt.date.fromisoformat(value) if isinstance(value, str) and value else value or None)
        else:
            setattr(resource, key, value)


def _next_code(provider) -> str:
    stem = f"{provider.region.code}-{(provider.uscc or '')[8:16]}"
    count = Resource.objects.filter(code__startswith=stem).count()
    return f"{stem}-{count + 1:04d}"


@service
def draft_resource(actor: Actor, *, fields: dict, items: list[dict]) -> Resource:
    """An agency compiles a new entry for its own organisation (C2 step 1)."""
    permissions.require(actor, "catalog.draft_resource", organisation=actor.organisation)
    fields = _normalise(fields)
    fields.setdefault("share_type", Resource.ShareType.UNCONDITIONAL)
    fields.setdefault("open_type", Resource.OpenType.NOT_OPEN)
    fields.setdefault("operation_status", Resource.OperationStatus.NONE)
    fields.setdefault("spatial_coverage", actor.organisation.region_id)
    items = _item_dicts(items)
    lookups = _Lookups()
    refuse_if(_problems(fields, items, submitting=False, lookups=lookups))
    _resolve_sources(actor.organisation, items, lookups)
    resource = Resource(provider=actor.organisation, code=_next_code(actor.organisation))
    _write_live(resource, fields, items, lookups)
    _save_draft(actor, resource, _current_fields(resource), items, ResourceDraft.Status.DRAFT)
    record(actor, "catalog.draft_resource", resource, after={"name": resource.name, "items": len(items)})
    _tell_submitters(actor, resource)
    return resource


def submitters(resource: Resource) -> list:
    """Who submits the provider's drafts for review (its data officers): shown to the staff who draft them."""
    roles = permissions.roles_holding("catalog.submit_resource")
    return [m.user for m in Membership.objects.filter(organisation_id=resource.provider_id, role__in=roles, user__is_active=True)
            .select_related("user").order_by("user__username")]


DRAFT_WAITING = "catalog.draft_waiting"


def _tell_submitters(actor: Actor, resource: Resource) -> None:
    """A draft saved by someone who cannot submit it waits for the provider's data officers: the provider is
    told once (not again while that notice is unread), naming who submits."""
    from core.models import Notification

    link = f"/catalog/{resource.pk}/"
    if permissions.can(actor, "catalog.submit_resource", organisation=resource.provider) or Notification.objects.filter(
            organisation_id=resource.provider_id, kind=DRAFT_WAITING, link=link, read_at=None).exists():
        return
    author = (actor.user.display_name or actor.user.username) if actor.user else actor.label
    names = "、".join(u.display_name or u.username for u in submitters(resource)) or "（本单位尚无首席数据官）"
    notify(organisation_id=resource.provider_id, kind=DRAFT_WAITING, link=link,
           message=f"{author}保存了目录草稿“{resource.name}”，待{names}提交审核")


def regraded_items(resource: Resource, items: list[dict]) -> list[dict]:
    """Items whose grade differs from the grade in force (only for a published entry)."""
    in_force = {i.column: _code(i.published_grade) for i in resource.items.select_related("published_grade")}
    return [
        {"column": i["column"], "before": in_force[i["column"]], "after": i["grade"]}
        for i in items
        if i["column"] in in_force and in_force[i["column"]] != i["grade"]
    ]


@service
def update_draft(actor: Actor, resource: Resource, *, fields: dict, items: list[dict] | None = None) -> Resource:
    """Edit the working copy of an entry that is not under review. A published entry stays as published
    for everyone else until the edit is reviewed and published (SYS Art. 13)."""
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    permissions.require(actor, "catalog.update_draft", organisation=resource.provider)
    before, before_items, status = working(resource)
    if status == Resource.Status.IN_REVIEW:
        raise Conflict("目录正在审核中，不能修改", code="in_review")
    merged = {**before, **_normalise(fields)}
    items = _item_dicts(items) if items is not None else before_items
    lookups = _Lookups()
    errors = _problems(merged, items, submitting=False, lookups=lookups)
    # G1: re-grading a published entry is a reviewed change that states its reason.
    if resource.published_version and regraded_items(resource, items) and not merged.get("change_reason"):
        errors.setdefault("change_reason", []).append("调整已发布数据项的分级须说明理由")
    refuse_if(errors)
    _resolve_sources(resource.provider, items, lookups)
    _save_draft(actor, resource, merged, items, ResourceDraft.Status.DRAFT if status != ResourceDraft.Status.RETURNED else status)
    if resource.published_version is None:
        _write_live(resource, merged, items, lookups)
    changed = {k: str(merged[k]) for k in merged if merged[k] != before.get(k)}
    if items != before_items:
        changed["items"] = len(items)
    record(actor, "catalog.update_draft", resource, after=changed)
    _tell_submitters(actor, resource)
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
    permissions.require(actor, "catalog.submit_resource", organisation=resource.provider)
    case = open_review(resource)
    if case is not None:
        if case.state != "returned":
            raise Conflict("目录已在审核中", code="in_review")
        return workflow.transition(actor, case, "resubmit")
    is_update = resource.published_version is not None
    if is_update and not ResourceDraft.objects.filter(resource=resource).exists():
        raise Conflict("没有待提交的修改：已发布版本即为当前内容", code="no_changes")
    if is_update:
        _end_update_duty(actor, resource)
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


UPDATE_DUTY = "catalog_update_duty"


def _end_update_duty(actor: Actor, resource: Resource) -> None:
    """Submitting an update ends the entry's open update duty (SYS Art. 13(1)), on time or late."""
    from workflow.selectors import case_of

    duty = case_of(resource, UPDATE_DUTY, open_only=True)
    if duty is not None:
        workflow.transition(actor, duty, "submitted", comment="已报送目录更新审核")


@service
def record_basis_change(actor: Actor, resource: Resource, *, changed_on: dt.date, change: str) -> Case:
    """SYS Art. 13(1): the provider records that the legal basis or statutory duties behind a published
    entry changed on ``changed_on``; the update is due within catalog.update working days of that day."""
    from workflow.selectors import case_of

    permissions.require(actor, "catalog.record_basis_change", organisation=resource.provider)
    errors: dict[str, list[str]] = {}
    if not (change or "").strip():
        errors.setdefault("change", []).append("请说明发生了什么变化")
    if changed_on is None or changed_on > timezone.localdate():
        errors.setdefault("changed_on", []).append("请填写变化发生的日期（不晚于今天）")
    if resource.published_version is None:
        errors.setdefault("resource", []).append("目录尚未发布：变化在编制中反映即可")
    refuse_if(errors)
    if case_of(resource, UPDATE_DUTY, open_only=True) is not None:
        raise Conflict("该目录已有待完成的更新义务", code="duty_open")
    case = workflow.open_case(actor, case_type=UPDATE_DUTY, subject=resource, title=f"目录更新义务：{resource.name}",
                              parties=_parties(resource), initial="updating",
                              label="登记依据变化", comment=f"{changed_on:%Y-%m-%d}：{change.strip()}", since=changed_on)
    record(actor, "catalog.record_basis_change", resource, after={"changed_on": changed_on, "change": change.strip(),
                                                                   "case": case.number, "due_on": case.due_on})
    return case


# --- hooks called by the workflow engine inside the transition's transaction -----------------


def snapshot_for_review(actor: Actor, case: Case) -> None:
    """Entering review: the working copy must be complete; it is frozen as a new version."""
    resource = Resource.objects.select_for_update().get(pk=case.subject_id)
    fields, items, _ = working(resource)
    refuse_if(_problems(fields, items, submitting=True))
    resource.version += 1
    resource.save(update_fields=["version", "updated_at"])
    _set_working_status(resource, Resource.Status.IN_REVIEW)
    ResourceVersion.objects.create(
        resource=resource, number=resource.version, data=version_data(resource, fields, items), created_by=actor.user, case=case
    )


def mark_returned(actor: Actor, case: Case) -> None:
    _set_working_status(Resource.objects.get(pk=case.subject_id), Resource.Status.RETURNED)


def mark_withdrawn(actor: Actor, case: Case) -> None:
    _set_working_status(Resource.objects.get(pk=case.subject_id), Resource.Status.DRAFT)


def _fields_of_version(data: dict) -> dict:
    fields = {k: data.get(k) for k in EDITABLE_FIELDS if k in data}
    place = fields.get("spatial_coverage")
    if isinstance(place, dict):
        fields["spatial_coverage"] = place["id"]
    return fields


def publish_version(actor: Actor, case: Case) -> None:
    """The reviewed version is in force: the live entry and its items become that version, written here
    and nowhere else; its grades protect the data from now on."""
    resource = Resource.objects.select_for_update().get(pk=case.subject_id)
    now = timezone.now()
    version = resource.versions.get(number=resource.version)
    version.published_at = now
    version.save(update_fields=["published_at"])
    previous = resource.versions.filter(number=resource.published_version).first() if resource.published_version else None
    share_before = previous.data.get("share_type") if previous else None
    in_force = {i.column: _code(i.published_grade) for i in resource.items.select_related("published_grade")}
    lookups = _Lookups()
    fields, items = _fields_of_version(version.data), version.data["items"]
    changes = [
        {"column": i["column"], "before": in_force.get(i["column"], ""), "after": i["grade"]}
        for i in items
        if resource.published_version and in_force.get(i["column"], "") != i["grade"]
    ]
    fields["change_reason"] = ""  # the reason stays with the version
    _write_live(resource, fields, items, lookups)
    live_items = list(resource.items.select_related("grade"))
    for item in live_items:
        if item.published_grade_id != item.grade_id:
            item.published_grade_id = item.grade_id
            item.save(update_fields=["published_grade"])
    resource.grade = highest(i.grade for i in live_items)
    resource.status = Resource.Status.PUBLISHED
    resource.published_version = version.number
    resource.published_at = now
    resource.save(update_fields=["status", "published_version", "published_at", "grade", "updated_at"])
    ResourceDraft.objects.filter(resource=resource).delete()  # the working copy is now the published version
    record(actor, "catalog.publish_version", resource, after={"version": version.number, "grade": _code(resource.grade)},
           detail={"regraded": changes} if changes else None)
    if changes:
        grades_changed.send(sender=Resource, resource=resource, changes=changes, actor=actor)
    if share_before and share_before != resource.share_type:
        share_type_changed.send(sender=Resource, resource=resource, before=share_before, after=resource.share_type, actor=actor)


def version_data(resource: Resource, fields: dict, items: list[dict]) -> dict:
    """A version as kept: the stored fields, the place as id/code/name, the provider, the items."""
    from core.models import Region

    data = {key: fields.get(key) for key in EDITABLE_FIELDS}
    place = Region.objects.filter(pk=data.get("spatial_coverage")).first()
    data["spatial_coverage"] = {"id": place.pk, "code": place.code, "name": str(place)} if place else None
    data["provider"] = {"id": resource.provider_id, "name": resource.provider_name, "code": resource.provider_code}
    data["items"] = items
    return data


def duplicate_collection(resource: Resource) -> list[DataItem]:
    """C5, SYS Art. 15 and 73(7): items this provider collects though another body is their statutory source."""
    return [i for i in resource.items.select_related("source_agency") if i.source_agency_id and i.source_agency_id != resource.provider_id]


# --- sensitive-data discovery (G4) -------------------------------------------------------------


@service
def suggest_grades(actor: Actor, resource: Resource, *, columns: list[str], rows: list) -> list[GradeSuggestion]:
    """Scan a sample of rows and record one suggestion per sensitive column (pending ones are replaced)."""
    permissions.require(actor, "catalog.suggest_grades", organisation=resource.provider)
    if not columns or len(set(columns)) != len(columns):
        raise ValidationFailed("样本须有不重复的列名", field="columns")
    if not rows:
        raise ValidationFailed("样本没有数据行", field="rows")
    findings = discover(columns, rows)
    resource.suggestions.filter(status=GradeSuggestion.Status.PENDING).delete()
    lookups = _Lookups()
    created = [
        GradeSuggestion.objects.create(
            resource=resource, column=f.column, sensitivity=f.sensitivity, share=f.share, matched=f.matched,
            non_empty=f.non_empty, category=lookups.categories[f.category], grade=lookups.grades[f.grade],
        )
        for f in findings
    ]
    record(actor, "catalog.suggest_grades", resource, after={
        "columns": len(columns), "rows": min(len(rows), int(rulebook.value("grading.discovery.sample_rows"))),
        "suggestions": [{"column": s.column, "sensitivity": s.sensitivity, "share": s.share} for s in created],
    })
    return created


@service
def decide_suggestion(actor: Actor, suggestion: GradeSuggestion, *, accept: bool) -> GradeSuggestion:
    """The data officer confirms (the item takes the suggested type, category and grade) or rejects."""
    suggestion = GradeSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    resource = suggestion.resource
    permissions.require(actor, "catalog.decide_suggestion", organisation=resource.provider)
    if suggestion.status != GradeSuggestion.Status.PENDING:
        raise Conflict("该建议已处理", code="decided")
    if accept:
        _, items, _ = working(resource)
        column = next((i["column"] for i in items if suggestion.column in (i["column"], i["name"])), None)
        if column is None:
            raise ValidationFailed(f"目录中没有数据项“{suggestion.column}”", field="column")
        for data in items:
            if data["column"] == column:
                data.update(sensitivity=suggestion.sensitivity, category=suggestion.category.code, grade=suggestion.grade.code)
        reason = f"敏感数据识别：{suggestion.column} 为{suggestion.get_sensitivity_label()}（命中 {suggestion.share:.0%}）"
        update_draft(actor, resource, fields={"change_reason": reason} if resource.published_version else {}, items=items)
    suggestion.status = GradeSuggestion.Status.CONFIRMED if accept else GradeSuggestion.Status.REJECTED
    suggestion.decided_by, suggestion.decided_at = actor.user, timezone.now()
    suggestion.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
    record(actor, "catalog.decide_suggestion", suggestion, after={"status": suggestion.status, "column": suggestion.column})
    return suggestion


# --- lists (C4) ------------------------------------------------------------------------------

CURATED_LISTS = {ListEntry.Kind.DEMAND: "catalog.add_demand_entry", ListEntry.Kind.OPEN_PRIORITY: "catalog.add_open_priority_entry"}


@service
def add_list_entry(
    actor: Actor, *, kind: str, year: int, title: str, resource: Resource | None = None, note: str = "",
    organisation: Organisation | None = None,
) -> ListEntry:
    """Demand entries come from agencies (their own); the annual open priority list is the bureau's (QZ Art. 10).
    The responsibility, negative and open responsibility lists are derived from the catalog."""
    if kind not in CURATED_LISTS:
        raise ValidationFailed("该清单由目录自动生成，不能手工添加", field="kind")
    organisation = organisation or (resource.provider if resource else actor.organisation)
    permission = CURATED_LISTS[kind]
    permissions.require(actor, permission, organisation=actor.organisation if kind == ListEntry.Kind.DEMAND else organisation)
    if not (2000 <= year <= 2100):
        raise ValidationFailed("年度无效", field="year")
    if not title.strip():
        raise ValidationFailed("请填写事项", field="title")
    entry = ListEntry.objects.create(
        kind=kind, year=year, region=actor.organisation.region if actor.organisation else organisation.region,
        organisation=organisation, resource=resource, title=title.strip(), note=note.strip(),
    )
    record(actor, "catalog.add_list_entry", entry, after={"kind": kind, "year": year, "title": entry.title})
    return entry


# --- information-system projects (C3) ----------------------------------------------------------


def _own_resources(actor: Actor, resources: list[Resource]) -> list[Resource]:
    if not resources:
        raise ValidationFailed("立项时须提交项目涉及的公共数据资源目录（SYS Art. 14）", field="resources")
    foreign = [r.name for r in resources if r.provider_id != actor.organisation.pk]
    if foreign:
        raise ValidationFailed(f"只能提交本单位的目录：{'、'.join(foreign)}", field="resources")
    return resources


@service
def register_project(actor: Actor, *, name: str, approved_on, resources: list[Resource], funding: str = Project.Funding.BUDGET) -> Project:
    """SYS Art. 14: a budget-funded project files the catalog it involves when it is approved."""
    permissions.require(actor, "catalog.register_project", organisation=actor.organisation)
    if not name.strip():
        raise ValidationFailed("请填写项目名称", field="name")
    if funding not in Project.Funding.values:
        raise ValidationFailed("资金性质无效", field="funding")
    resources = _own_resources(actor, resources)
    project = Project.objects.create(name=name.strip(), owner=actor.organisation, funding=funding, approved_on=approved_on)
    project.resources.set(resources)
    record(actor, "catalog.register_project", project, after={"name": project.name, "resources": [r.code for r in resources]})
    _open_project_case(actor, project, resources)
    return project


def _open_project_case(actor: Actor, project: Project, resources: list[Resource]) -> Case:
    """C3: the filing goes to the bureau of the owner's level for review (SYS Art. 14)."""
    bureau = bureau_for(project.owner.region)
    if bureau is None:
        raise Conflict("本区域没有公共数据主管部门审核项目目录", code="no_reviewer")
    return workflow.open_case(actor, case_type="information_system_project", subject=project,
                              title=f"信息化项目目录备案：{project.name}", parties={"owner": project.owner, "bureau": bureau},
                              initial="filing_review", label="立项报送目录",
                              comment="、".join(r.name for r in resources))


def project_case(project: Project) -> Case | None:
    """The project's open filing-and-acceptance case (none for a project filed before projects were cases)."""
    from workflow.selectors import case_of

    return case_of(project, "information_system_project", open_only=True)


@service
def file_project_resources(actor: Actor, project: Project, *, resources: list[Resource]) -> Project:
    """Before acceptance the project updates the catalog it files."""
    permissions.require(actor, "catalog.file_project_resources", organisation=project.owner)
    if project.status == Project.Status.ACCEPTED:
        raise Conflict("项目已验收", code="accepted")
    before = sorted(project.resources.values_list("code", flat=True))
    project.resources.set(_own_resources(actor, resources))
    record(actor, "catalog.file_project_resources", project, before={"resources": before},
           after={"resources": sorted(r.code for r in resources)})
    return project


def project_gaps(project: Project) -> dict[str, list[str]]:
    resources = list(project.resources.all())
    return {
        "unpublished": [r.name for r in resources if r.published_version is None],
        "unmounted": [r.name for r in resources if r.mounted_at is None],
    }


@service
def accept_project(actor: Actor, project: Project, *, accepted_on) -> Project:
    """SYS Art. 14: acceptance only once the catalog is published and the data aggregated to the platform."""
    permissions.require(actor, "catalog.accept_project", organisation=project.owner)
    if project.status == Project.Status.ACCEPTED:
        raise Conflict("项目已验收", code="accepted")
    project = _accept(actor, project, accepted_on)
    case = project_case(project)
    if case is not None:
        workflow.transition(actor, case, "accept", comment=f"验收日期：{accepted_on}")
    return project


def accept_project_from_case(actor: Actor, case: Case) -> None:
    """Hook: the project's case reached "accepted" (from ``accept_project`` or the case page) — the same
    check applies whichever way: every filed entry published, its data mounted."""
    from core import workdays

    project = Project.objects.select_for_update().get(pk=case.subject_id)
    if project.status != Project.Status.ACCEPTED:
        _accept(actor, project, workdays.today())


def _accept(actor: Actor, project: Project, accepted_on) -> Project:
    gaps = project_gaps(project)
    errors = {}
    if gaps["unpublished"]:
        errors["resources"] = [f"目录尚未发布：{'、'.join(gaps['unpublished'])}"]
    if gaps["unmounted"]:
        errors.setdefault("resources", []).append(f"数据尚未归集挂载：{'、'.join(gaps['unmounted'])}")
    refuse_if(errors)
    project.status, project.accepted_on = Project.Status.ACCEPTED, accepted_on
    project.save(update_fields=["status", "accepted_on", "updated_at"])
    record(actor, "catalog.accept_project", project, after={"accepted_on": accepted_on})
    return project
