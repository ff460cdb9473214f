from __future__ import annotations

from django.db.models import Q, QuerySet

from core import permissions
from core.actor import Actor
from core.errors import NotFound

from .models import Resource


def restrict(actor: Actor, qs: QuerySet | None = None) -> QuerySet:
    """Entries the actor may see: published ones; its own drafts; its region's drafts for reviewers."""
    qs = (Resource.objects.all() if qs is None else qs).select_related("provider", "spatial_coverage")
    if actor is None:
        return qs.filter(published_version__isnull=False)
    if actor.is_system:
        return qs
    visible = Q(published_version__isnull=False) | Q(provider=actor.organisation)
    if permissions.can(actor, "catalog.view_drafts"):
        visible |= Q(provider__region__path__startswith=actor.organisation.region.path)
    return qs.filter(visible)


def access_resource(actor: Actor, resource_id: int) -> Resource:
    resource = restrict(actor).filter(pk=resource_id).first()
    if resource is None:
        raise NotFound("数据资源不存在或无权查看", field="resource")
    return resource


def catalog_list(actor: Actor, *, q: str = "", provider: int | None = None, status: str = "") -> QuerySet:
    qs = restrict(actor)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(summary__icontains=q) | Q(items__name__icontains=q)).distinct()
    if provider:
        qs = qs.filter(provider_id=provider)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("provider__name", "code")
