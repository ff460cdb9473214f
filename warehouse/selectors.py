from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from catalog import selectors as catalog_selectors
from catalog.models import Resource
from core import permissions, rulebook
from core.actor import Actor
from core.errors import NotFound

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
    if not actor.is_system and not permissions.can(actor, "catalog.view_drafts"):
        qs = qs.filter(provider=actor.organisation)
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
    if not permissions.can(actor, "cases.view", organisation=resource.provider):
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
    elif permissions.can(actor, "audit.view"):
        path = actor.organisation.region.path
        qs = qs.filter(Q(organisation__region__path__startswith=path) | Q(resource__provider__region__path__startswith=path))
    else:
        qs = qs.filter(Q(organisation=actor.organisation) | Q(resource__provider=actor.organisation))
    if organisation:
        qs = qs.filter(organisation_id=organisation)
    return qs.order_by("-at")
