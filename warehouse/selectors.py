from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from catalog import selectors as catalog_selectors
from catalog.models import Resource
from foundation import permissions, rulebook
from foundation.actor import Actor
from foundation.errors import NotFound

from . import usage
from .models import Batch


@dataclass
class Freshness:
    resource: Resource
    last_update: dt.datetime | None
    allowed_days: int | None
    age_days: int | None

    @property
    def stale(self) -> bool:
        if self.allowed_days is None:
            return False
        return self.last_update is None or self.age_days > self.allowed_days


def allowed_days(frequency: str) -> int | None:
    key = f"freshness.{frequency}"
    return int(rulebook.value(key)) if key in rulebook.current().rules else None


def freshness(actor: Actor, *, now: dt.datetime | None = None) -> list[Freshness]:
    """A2: each published entry the actor answers for or oversees, with how old its data is."""
    now = now or timezone.now()
    qs = catalog_selectors.restrict(actor).filter(published_version__isnull=False)
    if not actor.is_system and not permissions.can(actor, "warehouse.view_freshness"):
        qs = qs.filter(provider=actor.organisation)
    qs = catalog_selectors.in_region(actor, qs, "provider")  # an overseer's region's, not another city's (P2)
    rows = []
    for resource in qs.annotate(last=Max("snapshots__created_at")).order_by("provider__name", "code"):
        age = (now - resource.last).days if resource.last else None
        rows.append(Freshness(resource, resource.last, allowed_days(resource.update_frequency), age))
    return rows


def batches(actor: Actor, resource: Resource) -> QuerySet:
    access_data(actor, resource)
    return Batch.objects.filter(resource=resource).select_related("submitted_by").order_by("-created_at")


def access_data(actor: Actor, resource: Resource) -> None:
    """The provider and those who oversee its region see a resource's batches and snapshots."""
    if actor.is_system or resource.provider_id == actor.organisation.pk:
        return
    if not permissions.can(actor, "warehouse.view_data", organisation=resource.provider):
        raise NotFound("无权查看该资源的汇聚记录", field="resource")


def access_batch(actor: Actor, batch_id: int) -> Batch:
    batch = Batch.objects.select_related("resource__provider__region").filter(pk=batch_id).first()
    if batch is None:
        raise NotFound("批次不存在", field="batch")
    access_data(actor, batch.resource)
    return batch


def usage_logs(actor: Actor, *, organisation: int | None = None) -> QuerySet:
    """A6: an agency sees its own uses and the uses of the data it provides; overseers see their region."""
    qs = usage.logs().select_related("organisation", "resource", "user")
    if actor.is_system:
        pass
    elif permissions.can(actor, "warehouse.view_usage"):
        path = actor.organisation.region.path
        qs = qs.filter(Q(organisation__region__path__startswith=path) | Q(resource__provider__region__path__startswith=path))
    else:
        qs = qs.filter(Q(organisation=actor.organisation) | Q(resource__provider=actor.organisation))
    if organisation:
        qs = qs.filter(organisation_id=organisation)
    return qs.order_by("-at")


def source_databases(actor: Actor) -> QuerySet:
    """Registered source databases (A1): an agency sees its own; the bureau those of its region."""
    from .models import SourceDatabase

    qs = SourceDatabase.objects.select_related("organisation", "case")
    if actor.is_system:
        return qs
    if permissions.can(actor, "warehouse.view_source_databases"):
        return qs.filter(organisation__region__path__startswith=actor.organisation.region.path)
    return qs.filter(organisation=actor.organisation)


def access_source_database(actor: Actor, source_id: int):
    """One source database, if the actor may see it (missing and forbidden look alike)."""
    source = source_databases(actor).filter(pk=source_id).first()
    if source is None:
        raise NotFound("源数据库不存在或无权查看", field="source_database")
    return source


def source_hosts(actor: Actor) -> QuerySet:
    """The PostgreSQL host allowlist (A1) the bureau keeps: its region's entries and those above it, which
    also apply to its region's sources."""
    from .models import SourceHostAllowlist

    qs = SourceHostAllowlist.objects.select_related("region", "added_by")
    if actor.is_system:
        return qs
    if not permissions.can(actor, "warehouse.view_source_hosts"):
        return qs.none()
    region = actor.organisation.region
    return qs.filter(Q(region__in=region.ancestors_and_self()) | Q(region__path__startswith=region.path))


def access_source_host(actor: Actor, entry_id: int):
    entry = source_hosts(actor).filter(pk=entry_id).first()
    if entry is None:
        raise NotFound("白名单条目不存在或无权查看", field="entry")
    return entry


def extraction_sources(actor: Actor, resource: Resource) -> QuerySet:
    """The extraction schedules of a resource, for its provider and those who oversee it."""
    from .models import ExtractionSource

    access_data(actor, resource)
    return ExtractionSource.objects.filter(resource=resource).select_related("source_database")


def governance_requests(actor: Actor) -> QuerySet:
    """SYS Art. 17(3): an agency's own data-governance requests; for the bureau, those of its region."""
    from .models import GovernanceRequest

    qs = GovernanceRequest.objects.select_related("applicant", "case").prefetch_related("resources")
    if actor.is_system:
        return qs
    if permissions.can(actor, "warehouse.view_data"):
        return catalog_selectors.in_region(actor, qs, "applicant")
    return qs.filter(applicant=actor.organisation)
