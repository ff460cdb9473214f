"""Who is acting: a user, for one organisation, with the roles held there (P2); a machine; the platform.
(``core.actor.act_as`` makes a user's actor from their memberships.)"""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass, field


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
