import datetime as dt
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from foundation import permissions, rulebook

from core import workdays
from foundation.errors import Conflict, GongshuError, NotFound, ValidationFailed
from core import selectors as core_selectors
from foundation.textfiles import read_csv_sample
from foundation.viewkit import actor_of, apply_errors
from grading import selectors as grading_selectors
from workflow import selectors as case_selectors

from . import diff, exports, selectors, services
from .forms import ItemFormSet, ResourceForm
from .models import GradeSuggestion, IndustryCategory, ListEntry, Project, Resource


def _filters(request) -> dict:
    return {k: request.GET.get(k, "").strip() for k in selectors.FILTERS if request.GET.get(k)}


@login_required
def catalog_list(request):
    actor = actor_of(request)
    q = request.GET.get("q", "").strip()
    filters = _filters(request)
    resources = selectors.catalog_list(actor, q=q, limit=200, **filters)
    return render(request, "catalog/list.html", {
        "resources": resources, "q": q, "filters": filters,
        "can_draft": permissions.can(actor, "catalog.draft_resource"),
        "providers": core_selectors.providers(),
        "categories": grading_selectors.top_categories(), "grades": grading_selectors.grades(),
        "regions": core_selectors.catalog_regions(),
        "share_types": Resource.ShareType.choices, "open_types": Resource.OpenType.choices,
    })


@login_required
def detail(request, resource_id: int):
    """Everyone sees the published entry; the provider and its reviewers also see the working copy."""
    actor = actor_of(request)
    resource = selectors.access_resource(actor, resource_id)
    cases = case_selectors.restrict(actor, selectors.review_cases(resource))  # only the cases the reader may open
    for case in cases:
        case.remaining = case_selectors.remaining_workdays(case)
    own = resource.provider_id == actor.organisation.pk
    versions = list(resource.versions.order_by("-number"))
    pending = selectors.pending_changes(actor, resource)
    status = pending["status"] if pending else resource.status
    return render(request, "catalog/detail.html", {
        "resource": resource,
        "items": resource.items.select_related("category", "grade", "published_grade", "source_agency"),
        "pending": pending,
        "versions": versions,
        "cases": cases,
        "duplicates": services.duplicate_collection(resource),
        "suggestions": resource.suggestions.select_related("grade", "category").order_by("status", "column"),
        "own": own,
        # the data page's own rule (warehouse.selectors.access_data): the provider and its region's overseers
        "can_view_data": own or permissions.can(actor, "warehouse.view_data", organisation=resource.provider),
        "can_edit": own and permissions.can(actor, "catalog.update_draft") and status != Resource.Status.IN_REVIEW,
        "can_submit": own and permissions.can(actor, "catalog.submit_resource")
        and status in (Resource.Status.DRAFT, Resource.Status.RETURNED),
        # staff who draft but do not submit see who does
        "submitters": services.submitters(resource) if own and status in (Resource.Status.DRAFT, Resource.Status.RETURNED)
        and not permissions.can(actor, "catalog.submit_resource") else None,
        "can_record_change": own and resource.published_version is not None
        and permissions.can(actor, "catalog.record_basis_change", organisation=resource.provider),
        "can_request_share": not own and resource.published_version is not None
        and resource.share_type != Resource.ShareType.NOT_SHARED and permissions.can(actor, "sharing.request_share"),
        "industry": dict(IndustryCategory.choices),
    })


@login_required
def compare(request, resource_id: int):
    """C2: two versions side by side; by default the one in force against the one before it."""
    actor = actor_of(request)
    resource = selectors.access_resource(actor, resource_id)
    versions = {v.number: v for v in resource.versions.all()}
    if not versions:
        raise NotFound("该目录还没有版本")
    newest = max(versions)
    try:
        b = int(request.GET.get("b") or resource.published_version or newest)
        a = int(request.GET.get("a") or max([n for n in versions if n < b], default=b))
    except ValueError:
        raise ValidationFailed("版本号无效", field="a") from None
    if a not in versions or b not in versions:
        raise NotFound("没有这个版本")
    fields, items = diff.compare(versions[a].data, versions[b].data)
    return render(request, "catalog/compare.html", {
        "resource": resource, "a": versions[a], "b": versions[b], "numbers": sorted(versions),
        "fields": fields, "items": items, "old_label": f"v{a}", "new_label": f"v{b}",
    })


def _items_initial(resource):
    fields = ("name", "column", "data_type", "description", "is_key", "required", "category", "grade",
              "sensitivity", "source_type", "source_agency")
    return [{f: getattr(i, f) for f in fields} for i in resource.working_items]


@login_required
def edit(request, resource_id: int | None = None):
    """The working copy is edited; a published entry stays as published until the edit is reviewed."""
    actor = actor_of(request)
    resource = selectors.access_working_copy(actor, resource_id) if resource_id else None
    form = ResourceForm(request.POST or None, instance=resource)
    formset = ItemFormSet(request.POST or None, initial=_items_initial(resource) if resource else None, prefix="items")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        items = [f.cleaned_data for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        try:
            if resource is None:
                resource = services.draft_resource(actor, fields=form.cleaned_data, items=items)
            else:
                resource = services.update_draft(actor, resource, fields=form.cleaned_data, items=items)
        except ValidationFailed as exc:
            apply_errors(form, exc, formset)
        except Conflict as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "已保存草稿")
            return redirect("catalog:detail", resource_id=resource.pk)
    return render(request, "catalog/edit.html", {"form": form, "formset": formset, "resource": resource})


def _flash_errors(request, exc: ValidationFailed):
    for msgs in exc.errors.values():
        for message in msgs:
            messages.error(request, message)


@login_required
@require_POST
def submit(request, resource_id: int):
    actor = actor_of(request)
    resource = selectors.access_resource(actor, resource_id)
    try:
        case = services.submit_resource(actor, resource)
    except ValidationFailed as exc:
        _flash_errors(request, exc)
    else:
        messages.success(request, f"已提交审核，办件编号 {case.number}，审核期限 {case.due_on}")
    return redirect("catalog:detail", resource_id=resource.pk)


@login_required
@require_POST
def discover(request, resource_id: int):
    """G4: the data officer uploads a sample (CSV in UTF-8 or GBK); suggestions appear on the entry."""
    actor = actor_of(request)
    resource = selectors.access_resource(actor, resource_id)
    upload = request.FILES.get("sample")
    try:
        if upload is None:
            raise ValidationFailed("请选择样本文件", field="sample")
        limit = int(rulebook.value("grading.discovery.sample_rows"))
        columns, rows = read_csv_sample(upload.read(limit * 2000), limit=limit)
        found = services.suggest_grades(actor, resource, columns=columns, rows=rows)
    except ValidationFailed as exc:
        _flash_errors(request, exc)
    else:
        messages.success(request, f"已扫描 {len(rows)} 行，识别出 {len(found)} 个敏感列")
    return redirect("catalog:detail", resource_id=resource.pk)


@login_required
@require_POST
def decide_suggestion(request, suggestion_id: int):
    actor = actor_of(request)
    suggestion = get_object_or_404(GradeSuggestion, pk=suggestion_id)
    selectors.access_resource(actor, suggestion.resource_id)
    try:
        services.decide_suggestion(actor, suggestion, accept=request.POST.get("decision") == "accept")
    except (ValidationFailed, Conflict) as exc:
        messages.error(request, exc.message)
    return redirect("catalog:detail", resource_id=suggestion.resource_id)


def _year(request) -> int:
    try:
        return int(request.GET.get("year") or workdays.today().year)
    except ValueError:
        raise ValidationFailed("年度无效", field="year") from None


@login_required
def lists(request):
    actor = actor_of(request)
    kind = request.GET.get("kind") or ListEntry.Kind.RESPONSIBILITY
    if kind not in ListEntry.Kind.values:
        raise NotFound("没有这个清单")
    year = _year(request)
    if request.method == "POST":
        try:
            resource = selectors.access_resource(actor, int(request.POST["resource"])) if request.POST.get("resource") else None
            services.add_list_entry(actor, kind=kind, year=year, title=request.POST.get("title", ""),
                                    resource=resource, note=request.POST.get("note", ""))
        except ValidationFailed as exc:
            _flash_errors(request, exc)
        except GongshuError as exc:
            messages.error(request, exc.message)
        return redirect(f"{request.path}?kind={kind}&year={year}")
    return render(request, "catalog/lists.html", {
        "kind": kind, "year": year, "kinds": ListEntry.Kind.choices, "columns": selectors.LIST_COLUMNS,
        "rows": selectors.list_rows(actor, kind, year), "curated": kind in services.CURATED_LISTS,
        "resources": selectors.restrict(actor).filter(published_version__isnull=False).order_by("name"),
    })


def _download(data: bytes, filename: str, fmt: str) -> HttpResponse:
    content_type = {
        "csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "jsonld": "application/ld+json; charset=utf-8",
    }[fmt]
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{filename}"
    return response


def _table_download(rows, stem: str, fmt: str, sheet: str | None = None) -> HttpResponse:
    if fmt == "csv":
        return _download(exports.csv_bytes(rows), f"{stem}.csv", "csv")
    if fmt == "xlsx":
        return _download(exports.xlsx_bytes(rows, sheet=(sheet or stem)[:31]), f"{stem}.xlsx", "xlsx")
    raise NotFound("不支持的格式")


@login_required
def list_export(request, kind: str, fmt: str):
    actor = actor_of(request)
    if kind not in ListEntry.Kind.values:
        raise NotFound("没有这个清单")
    year = _year(request)
    rows = [selectors.LIST_COLUMNS] + selectors.list_rows(actor, kind, year)
    return _table_download(rows, f"{kind}-{year}", fmt)


@login_required
def important(request):
    """G3: the important-data catalog per region and department."""
    actor = actor_of(request)
    items = selectors.important_data(actor, region=request.GET.get("region", ""))
    if request.GET.get("format") in ("csv", "xlsx"):
        rows = [["区域", "部门", "目录编码", "数据资源", "数据项", "分类", "分级"]] + [
            [i.resource.provider.region.name, i.resource.provider.name, i.resource.code, i.resource.name, i.name,
             str(i.category or ""), i.published_grade.name]
            for i in items
        ]
        return _table_download(rows, "important-data", request.GET["format"])
    return render(request, "catalog/important.html", {"items": items})


@login_required
def oversight(request):
    """C5, C6, C3 for the bureau: entries without data, duplicate collection, projects' catalog and data."""
    actor = actor_of(request)
    permissions.require(actor, "catalog.view_oversight")
    project_rows = [(p, services.project_gaps(p)) for p in selectors.projects(actor)]
    return render(request, "catalog/oversight.html", {
        "unmounted": selectors.unmounted(actor), "duplicates": selectors.duplicate_collections(actor),
        "projects": project_rows,
    })


@login_required
def projects(request):
    actor = actor_of(request)
    if request.method == "POST":
        try:
            ids = [int(i) for i in request.POST.getlist("resources")]
            chosen = list(selectors.restrict(actor).filter(pk__in=ids))
            approved = dt.date.fromisoformat(request.POST.get("approved_on", ""))
        except ValueError:
            messages.error(request, "立项日期格式应为 YYYY-MM-DD")
        else:
            try:
                services.register_project(actor, name=request.POST.get("name", ""), approved_on=approved,
                                          resources=chosen, funding=request.POST.get("funding", "budget"))
            except ValidationFailed as exc:
                _flash_errors(request, exc)
            else:
                messages.success(request, "项目已登记")
        return redirect("catalog:projects")
    rows = [(p, services.project_gaps(p)) for p in selectors.projects(actor)]
    return render(request, "catalog/projects.html", {
        "projects": rows, "fundings": Project.Funding.choices,
        "own_resources": selectors.restrict(actor, "catalog.register_project").order_by("name"),
        "can_register": permissions.can(actor, "catalog.register_project"),
    })


@login_required
@require_POST
def accept_project(request, project_id: int):
    actor = actor_of(request)
    project = get_object_or_404(selectors.projects(actor), pk=project_id)
    try:
        services.accept_project(actor, project, accepted_on=workdays.today())
    except (ValidationFailed, Conflict) as exc:
        messages.error(request, exc.message if not isinstance(exc, ValidationFailed) else "；".join(sum(exc.errors.values(), [])))
    else:
        messages.success(request, "项目已验收")
    return redirect("catalog:projects")


# --- public, machine-readable ----------------------------------------------------------------


def _public_actor(request):
    """Signed-in staff see the whole published catalog; anyone else sees the entries open to society."""
    return getattr(request, "actor", None)


def export_catalog(request, fmt: str):
    rows = exports.published(selectors.restrict(_public_actor(request)))
    if fmt == "jsonld":
        base = request.build_absolute_uri("/").rstrip("/")
        document = exports.dcat_catalog(rows, base=base, title="公共数据资源目录")
        return _download(json.dumps(document, ensure_ascii=False, indent=1).encode(), "catalog.jsonld", "jsonld")
    return _table_download(exports.table(rows), "catalog", fmt, sheet="公共数据资源目录")


def _ckan(request, result) -> JsonResponse:
    return JsonResponse({"help": request.build_absolute_uri(), "success": True, "result": result},
                        json_dumps_params={"ensure_ascii": False})


def ckan_action(request, action: str):
    """A CKAN-compatible read API (package_list, package_show, package_search) over the published catalog."""
    actor = _public_actor(request)
    base = request.build_absolute_uri("/").rstrip("/")
    if action == "package_list":
        codes = selectors.restrict(actor).filter(published_version__isnull=False).order_by("code").values_list("code", flat=True)
        return _ckan(request, list(codes))
    if action == "package_show":
        qs = selectors.restrict(actor).filter(code=request.GET.get("id", ""))
        found = next(exports.published(qs), None)
        if found is None:
            return JsonResponse({"success": False, "error": {"__type": "Not Found Error", "message": "Not found"}}, status=404)
        return _ckan(request, exports.ckan_package(*found, base))
    if action == "package_search":
        try:
            rows, start = min(int(request.GET.get("rows", 10)), 1000), int(request.GET.get("start", 0))
        except ValueError:
            return JsonResponse({"success": False, "error": {"__type": "Validation Error", "message": "rows/start"}}, status=400)
        ranked = selectors.catalog_list(actor, q=request.GET.get("q", ""), limit=1000)
        ranked = [r for r in ranked if r.published_version]
        page = ranked[start : start + rows]
        ids = {r.pk: i for i, r in enumerate(page)}
        packages = sorted(exports.published(selectors.restrict(actor).filter(pk__in=ids)), key=lambda p: ids[p[0].pk])
        return _ckan(request, {"count": len(ranked), "results": [exports.ckan_package(r, d, base) for r, d in packages]})
    return JsonResponse({"success": False, "error": {"__type": "Not Found Error", "message": "Action not found"}}, status=404)


@login_required
@require_POST
def record_basis_change(request, resource_id: int):
    """SYS Art. 13(1): the provider records a change of the entry's legal basis or duties; the update is due."""
    actor = actor_of(request)
    resource = selectors.access_resource(actor, resource_id)
    try:
        changed_on = dt.date.fromisoformat(request.POST.get("changed_on", ""))
    except ValueError:
        changed_on = None
    try:
        case = services.record_basis_change(actor, resource, changed_on=changed_on, change=request.POST.get("change", ""))
    except GongshuError as exc:
        messages.error(request, exc.message)
        return redirect("catalog:detail", resource_id=resource.pk)
    messages.success(request, f"已登记，目录更新应于 {case.due_on} 前报送审核")
    return redirect("workflow:detail", number=case.number)
