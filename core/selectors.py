from __future__ import annotations

from foundation import permissions
from foundation.actor import Actor

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


def may_see_event(actor: Actor, event) -> bool:
    """Anyone may learn that an event is in the audit chain (its number, hash and links); what it says (who
    acted, for which organisation, on what, before and after) is for the event's own organisation and for
    those who oversee the audit trail of the region that organisation lies in (``audit.view``, region
    scope) (SEC1, P2)."""
    from foundation import permissions
    from core.models import Organisation

    if actor.is_system:
        return True
    if actor.organisation is None:
        return False
    if event.organisation_id == actor.organisation.pk:
        # the public share one organisation: there each member sees only their own events
        return actor.organisation.kind != Organisation.Kind.PUBLIC or (actor.user is not None and event.actor_id == actor.user.pk)
    acting_for = Organisation.objects.select_related("region").filter(pk=event.organisation_id).first()
    if acting_for is None:  # the platform's own events: for overseers of the whole platform (a top-level region) only
        return permissions.can(actor, "audit.view") and actor.organisation.region.parent_id is None
    return permissions.can(actor, "audit.view", organisation=acting_for)


# --- the registry, as forms and filters offer it ------------------------------------------------


def providers():
    """The organisations that provide catalog entries (agencies and public utilities), by name."""
    return Organisation.objects.filter(kind__in=[Organisation.Kind.AGENCY, Organisation.Kind.UTILITY]).order_by("name")


def demand_providers(actor: Actor | None = None):
    """The active organisations a demand for data may be addressed to (S8), region by region: for an actor,
    those of its own city (another city's data is asked for across levels, S9)."""
    qs = Organisation.objects.filter(
        kind__in=(Organisation.Kind.AGENCY, Organisation.Kind.UTILITY, Organisation.Kind.SERVICE_CENTRE),
        is_active=True).order_by("region__path", "name")
    if actor is not None and actor.organisation is not None:
        qs = qs.filter(region__path__startswith=city_of(actor.organisation.region).path)
    return qs


def active_organisation(organisation_id) -> Organisation | None:
    return Organisation.objects.filter(pk=organisation_id, is_active=True).first()


def catalog_regions():
    """The regions the catalog is filtered by: the city and its counties."""
    return Region.objects.filter(level__in=[Region.Level.CITY, Region.Level.COUNTY])


# --- the acting user's own ------------------------------------------------------------------------


def tokens_of(actor: Actor):
    """The acting user's API tokens for the acting organisation (P3)."""
    from .models import ApiToken

    return ApiToken.objects.filter(user=actor.user, organisation=actor.organisation)


def token_of(actor: Actor, token_id: int):
    """One of the acting user's tokens, for any of its organisations (``DoesNotExist`` otherwise)."""
    from .models import ApiToken

    return ApiToken.objects.get(pk=token_id, user=actor.user)


def notifications_for(actor: Actor):
    """The acting organisation's notifications, latest first."""
    from .models import Notification

    return Notification.objects.filter(organisation=actor.organisation).order_by("-created_at")


def totp_device(user, *, confirmed: bool):
    """The user's TOTP device, confirmed (in use) or not yet (being enrolled), if there is one."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).first()
