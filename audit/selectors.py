"""Who may read what in the audit chain (SEC1, P2).

Anyone may learn that an event is in the chain (its number, hash and links); what it says (who acted, for
which organisation, on what, before and after) is for the event's own organisation and for those who oversee
the audit trail of the region that organisation lies in (``audit.view`` with region scope).
"""

from __future__ import annotations

from core.actor import Actor

from .models import Event


def may_see_event(actor: Actor, event: Event) -> bool:
    from core import permissions
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
