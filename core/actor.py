"""Who is acting: a user, for one organisation, with the roles held there (P2)."""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass, field

from .errors import PermissionDenied

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("gongshu_request_id", default="")


def current_request_id() -> str:
    return request_id_var.get() or ""


def new_request_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Actor:
    user: object | None  # core.models.User
    organisation: object | None  # core.models.Organisation
    roles: frozenset[str] = field(default_factory=frozenset)
    channel: str = "web"  # web | api | cli | system
    request_id: str = ""

    name: str = ""  # for actors that are not users: a front-end machine

    @property
    def is_system(self) -> bool:
        return "system" in self.roles

    @property
    def label(self) -> str:
        return self.user.username if self.user else (self.name or "system")

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def rid(self) -> str:
        return self.request_id or current_request_id()


def machine_actor(organisation, name: str, roles: frozenset[str], *, channel: str, request_id: str = "") -> Actor:
    """An agency's machine acting for its organisation (a front-end machine pushing batches)."""
    return Actor(user=None, organisation=organisation, roles=roles, channel=channel, request_id=request_id, name=name)


def system_actor(channel: str = "system") -> Actor:
    """The platform itself (scheduled jobs, the demo loader, operator CLI tasks)."""
    return Actor(user=None, organisation=None, roles=frozenset({"system"}), channel=channel)


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
