"""A user's actor: for one organisation they are a member of, with the roles held there (P2)."""

from __future__ import annotations

from foundation.actor import Actor
from foundation.errors import PermissionDenied


def act_as(user, organisation_id: int | None = None, *, channel: str = "web", request_id: str = "") -> Actor:
    """The actor for ``user`` acting for ``organisation_id`` (or its only organisation).

    Refuses an organisation the user is not a member of.
    """
    from .models import Membership

    memberships = list(Membership.objects.filter(user=user, organisation__is_active=True).select_related("organisation__region"))
    if organisation_id is None:
        orgs = {m.organisation_id for m in memberships}
        if len(orgs) != 1:
            raise PermissionDenied("请选择代表的组织", code="organisation_required", field="organisation")
        organisation_id = orgs.pop()
    held = [m for m in memberships if m.organisation_id == organisation_id]
    if not held:
        raise PermissionDenied("您不是该组织的成员，不能代表该组织操作", code="not_a_member", field="organisation")
    return Actor(
        user=user,
        organisation=held[0].organisation,
        roles=frozenset(m.role for m in held),
        channel=channel,
        request_id=request_id,
    )
