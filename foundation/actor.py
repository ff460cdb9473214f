"""Who is acting: a user, for one organisation, with the roles held there (P2); a machine; the platform.
(``core.actor.act_as`` makes a user's actor from their memberships.)"""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass, field, replace


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
    channel: str = "web"  # web | api | cli | system | job (the scheduler's work)
    request_id: str = ""

    name: str = ""  # for actors that are not users: a front-end machine

    @property
    def is_system(self) -> bool:
        return "system" in self.roles

    @property
    def is_platform(self) -> bool:
        """A named platform actor (the scheduler, the monitor): no user, only platform roles."""
        from .roles import PLATFORM_ROLES

        return self.user is None and bool(self.roles) and self.roles <= PLATFORM_ROLES.keys()

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
    """The platform's operator (the demo loader, operator CLI tasks): it skips every permission and transition
    check. Scheduled work acts as ``platform_actor(PLATFORM_SCHEDULER)`` instead."""
    return Actor(user=None, organisation=None, roles=frozenset({"system"}), channel=channel)


def platform_actor(role: str, organisation=None, *, channel: str = "job", name: str = "") -> Actor:
    """A named platform actor (P2, SEC1): the scheduler's jobs (``PLATFORM_SCHEDULER``) or the bureau's misuse
    monitor (``PLATFORM_MONITOR``). It holds only its role's declared permissions and passes a transition check
    only where the transition names its role; ``organisation``: whom it acts for (the monitor: a bureau), none
    for platform-wide work. The audit trail names it by its role's label."""
    from .roles import PLATFORM_ROLES

    if role not in PLATFORM_ROLES:
        raise ValueError(f"{role} is not a platform role")
    return Actor(user=None, organisation=organisation, roles=frozenset({role}), channel=channel,
                 name=name or str(PLATFORM_ROLES[role]))


def acting_for(actor: Actor, organisation) -> Actor:
    """``actor`` doing one organisation's own act: a platform actor (the scheduler running a provider's
    registered extraction, rebuilding the service centre's base) acts for that organisation with its own role
    and permissions; any other actor — one already acting for an organisation, a person, the operator — is
    returned as it is."""
    return replace(actor, organisation=organisation) if actor.is_platform and actor.organisation is None else actor
