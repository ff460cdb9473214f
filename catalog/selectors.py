from __future__ import annotations

from django.db.models import F, Q, QuerySet

from foundation import permissions
from grading.scheme import important_grade_codes
from foundation.actor import Actor
from foundation.errors import NotFound

from . import search
from .models import DataItem, Resource

FILTERS = ("provider", "category", "grade", "share_type", "open_type", "region", "status")


def restrict(actor: Actor | None, action: str | None = None, qs: QuerySet | None = None) -> QuerySet:
    """Entries the actor may see: published ones; its own drafts; its region's drafts for reviewers. With an
    ``action`` (a permission), those of them whose provider the actor may do it for."""
    qs = (Resource.objects.all() if qs is None else qs).select_related("provider", "spatial_coverage", "category", "grade")
    if actor is None:
        if action is not None:
            return qs.none()
        return qs.filter(published_version__isnull=False, open_type__in=[Resource.OpenType.UNCONDITIONAL, Resource.OpenType.CONDITIONAL])
    if actor.is_system:
        return qs
    visible = Q(published_version__isnull=False) | Q(provider=actor.organisation)
    if permissions.can(actor, "catalog.view_drafts"):
        visible |= Q(provider__region__path__startswith=actor.organisation.region.path)
    if action is not None:
        visible &= permissions.target_filter(actor, action, organisation="provider")
    return qs.filter(visible)


def published() -> QuerySet:
    """Every published entry (the catalog a peer instance exchanges, the entries a form offers)."""
    return Resource.objects.filter(published_version__isnull=False)


def entry_by_code(code: str) -> Resource | None:
    """The entry with this catalog code, published or not (a front-end machine names what it delivers; the
    delivery checks the machine's right)."""
    return Resource.objects.filter(code=code).first()


def review_cases(resource: Resource) -> QuerySet:
    """The catalog cases about an entry (review, changes), latest first."""
    from workflow.models import Case

    return Case.objects.filter(case_type__startswith="catalog_", subject_id=str(resource.pk)).order_by("-created_at")


def access_suggestion(actor: Actor, suggestion_id: int):
    """A grade suggestion on an entry the actor may see (G4)."""
    from .models import GradeSuggestion

    suggestion = GradeSuggestion.objects.filter(pk=suggestion_id).first()
    if suggestion is None:
        raise NotFound("建议不存在", field="suggestion")
    access_resource(actor, suggestion.resource_id)
    return suggestion


def access_resource(actor: Actor | None, resource_id: int) -> Resource:
    resource = restrict(actor).filter(pk=resource_id).first()
    if resource is None:
        raise NotFound("数据资源不存在或无权查看", field="resource")
    return resource


def sees_working_copy(actor: Actor | None, resource: Resource) -> bool:
    """The working copy is the provider's and its reviewers' (bureau, service centre, oversight of the region)."""
    if actor is None:
        return False
    if actor.is_system or resource.provider_id == actor.organisation.pk:
        return True
    return permissions.can(actor, "catalog.view_drafts") and resource.provider.region.path.startswith(actor.organisation.region.path)


def access_working_copy(actor: Actor | None, resource_id: int) -> Resource:
    """The entry as its working copy stands (an unsaved copy with ``working_items``); others: not found."""
    from .services import working_copy

    resource = access_resource(actor, resource_id)
    if not sees_working_copy(actor, resource):
        raise NotFound("数据资源不存在或无权查看", field="resource")
    return working_copy(resource)


def pending_changes(actor: Actor | None, resource: Resource) -> dict | None:
    """A published entry's unpublished edits, for those who see the working copy: the working status and
    the changes against the version in force (C2)."""
    from . import diff
    from .models import ResourceDraft
    from .services import version_data

    if resource.published_version is None or not sees_working_copy(actor, resource):
        return None
    draft = ResourceDraft.objects.filter(resource=resource).first()
    if draft is None:
        return None
    in_force = resource.versions.get(number=resource.published_version).data
    fields, items = diff.compare(in_force, version_data(resource, draft.fields, draft.items))
    return {"status": draft.status, "label": draft.get_status_display(), "fields": fields, "items": items,
            "updated_at": draft.updated_at, "updated_by": draft.updated_by}


def filtered(actor: Actor | None, **filters) -> QuerySet:
    qs = restrict(actor)
    if filters.get("provider"):
        qs = qs.filter(provider_id=filters["provider"])
    if filters.get("category"):
        qs = qs.filter(Q(category__code=filters["category"]) | Q(category__parent__code=filters["category"]))
    if filters.get("grade"):
        qs = qs.filter(grade__code=filters["grade"])
    if filters.get("share_type"):
        qs = qs.filter(share_type=filters["share_type"])
    if filters.get("open_type"):
        qs = qs.filter(open_type=filters["open_type"])
    if filters.get("region"):
        qs = qs.filter(provider__region__path__contains=f"/{filters['region']}/")
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    return qs


def catalog_list(actor: Actor | None, *, q: str = "", limit: int = 100, **filters) -> list[Resource]:
    """The first ``limit`` entries the actor may see, filtered; with ``q`` ranked by the Chinese search."""
    qs = filtered(actor, **{k: v for k, v in filters.items() if k in FILTERS})
    if q.strip():
        return search.rank(qs, q, limit)
    return list(qs.order_by("provider__name", "code")[:limit])


def in_region(actor: Actor | None, qs: QuerySet, organisation: str) -> QuerySet:
    """Rows whose organisation (the lookup ``organisation``, e.g. ``"provider"``) lies in the acting
    organisation's region or below it (P2): an oversight list of published entries is its region's, not
    another city's. The platform and an actor acting for no organisation: unrestricted."""
    if actor is None or actor.is_system or actor.organisation is None:
        return qs
    return qs.filter(**{f"{organisation}__region__path__startswith": actor.organisation.region.path})


def important_data(actor: Actor, *, region: str = "", provider: int | None = None) -> QuerySet:
    """G3: the important-data catalog — items graded important or core, per region and department: the
    acting organisation's region and the regions below it (another city's important data is not its list)."""
    qs = in_region(actor, DataItem.objects.filter(
        resource__in=restrict(actor).values("pk"), published_grade__code__in=important_grade_codes()
    ).select_related("resource__provider__region", "published_grade", "category"), "resource__provider")
    if region:
        qs = qs.filter(resource__provider__region__path__contains=f"/{region}/")
    if provider:
        qs = qs.filter(resource__provider_id=provider)
    return qs.order_by("resource__provider__region__path", "resource__provider__name", "resource__code", "position")


def unmounted(actor: Actor) -> QuerySet:
    """C6: published entries with no data behind them."""
    qs = restrict(actor).filter(published_version__isnull=False, mounted_at__isnull=True)
    return in_region(actor, qs, "provider").order_by("provider__name", "code")


def duplicate_collections(actor: Actor) -> QuerySet:
    """C5, SYS Art. 73(7): items whose provider is not their statutory source agency."""
    return (
        in_region(actor, DataItem.objects.filter(resource__in=restrict(actor).values("pk"), source_agency__isnull=False),
                  "resource__provider")
        .exclude(source_agency=F("resource__provider"))
        .select_related("resource__provider", "source_agency")
        .order_by("resource__provider__name", "resource__code")
    )




# --- lists (C4) ------------------------------------------------------------------------------

LIST_COLUMNS = ["清单", "年度", "责任单位", "数据资源", "目录编码", "类型与条件", "说明"]


def list_rows(actor: Actor | None, kind: str, year: int | None = None) -> list[list]:
    """One list as rows: the curated ones from their entries, the others derived from the catalog."""
    from .exports import label
    from .models import ListEntry

    title = str(ListEntry.Kind(kind).label)
    if kind in (ListEntry.Kind.DEMAND, ListEntry.Kind.OPEN_PRIORITY):
        entries = ListEntry.objects.filter(kind=kind).select_related("organisation", "resource")
        if actor is not None and not actor.is_system:
            city_path = "/" + actor.organisation.region.path.split("/")[1] + "/"
            entries = entries.filter(region__path__startswith=city_path)
        if year:
            entries = entries.filter(year=year)
        return [
            [title, e.year, e.organisation.name, e.resource.name if e.resource else e.title,
             e.resource.code if e.resource else "", e.title, e.note]
            for e in entries
        ]
    published = restrict(actor).filter(published_version__isnull=False).order_by("provider__name", "code")
    if kind == ListEntry.Kind.RESPONSIBILITY:
        rows = published.exclude(share_type=Resource.ShareType.NOT_SHARED)
        detail = lambda r: f"{label('share_type', r.share_type)}；{label('share_methods', r.share_methods)}"  # noqa: E731
        note = lambda r: r.share_conditions  # noqa: E731
    elif kind == ListEntry.Kind.NEGATIVE:
        rows = published.filter(share_type=Resource.ShareType.NOT_SHARED)
        detail = lambda r: label("share_type", r.share_type)  # noqa: E731
        note = lambda r: r.legal_basis  # noqa: E731
    elif kind == ListEntry.Kind.OPEN_RESPONSIBILITY:
        rows = published.exclude(open_type=Resource.OpenType.NOT_OPEN)
        detail = lambda r: label("open_type", r.open_type)  # noqa: E731
        note = lambda r: r.open_conditions  # noqa: E731
    else:
        raise NotFound("没有这个清单", field="kind")
    current_year = year or ""
    return [[title, current_year, r.provider.name, r.name, r.code, detail(r), note(r)] for r in rows]


# --- projects (C3) ---------------------------------------------------------------------------


def projects(actor: Actor) -> QuerySet:
    from .models import Project

    qs = Project.objects.select_related("owner").prefetch_related("resources")
    if actor.is_system:
        return qs
    if permissions.can(actor, "catalog.view_projects"):
        return qs.filter(owner__region__path__startswith=actor.organisation.region.path)
    return qs.filter(owner=actor.organisation)
