from __future__ import annotations

from .models import Organisation, Region


def bureau_for(region: Region) -> Organisation | None:
    """The data bureau of ``region`` or, failing that, of the nearest region above it."""
    return _nearest(region, Organisation.Kind.BUREAU)


def service_centre_for(region: Region) -> Organisation | None:
    return _nearest(region, Organisation.Kind.SERVICE_CENTRE)


def city_of(region: Region) -> Region:
    return region.ancestors_and_self()[0]


def _nearest(region: Region, kind: str) -> Organisation | None:
    chain = region.ancestors_and_self()
    found = {
        o.region_id: o
        for o in Organisation.objects.filter(kind=kind, is_active=True, region__in=chain).order_by("pk")
    }
    for r in reversed(chain):
        if r.pk in found:
            return found[r.pk]
    return None
