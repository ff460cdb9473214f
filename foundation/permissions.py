"""One permission check used by every service, scoped to organisation and region (P2): the mechanism only.

A permission is a name (``catalog.review``). Roles grant permissions; each permission has a scope:

* ``own``: the target organisation must be the acting organisation;
* ``region``: the target must lie in the acting organisation's region or below it;
* ``any``: no target restriction (reading the published catalog, for example).

Apps declare their permissions and the roles holding them with ``declare`` (``core.permissions`` today).
"""

from __future__ import annotations

from .actor import Actor
from .errors import PermissionDenied

OWN, REGION, ANY = "own", "region", "any"

PERMISSIONS: dict[str, str] = {}  # permission -> scope
ROLE_PERMISSIONS: dict[str, set[str]] = {}  # role -> permissions


def declare(permissions: dict[str, str], roles: dict[str, set[str]]) -> None:
    """Add permissions (name -> scope) and the roles that hold them; a name declared twice is a mistake."""
    for name, scope in permissions.items():
        if name in PERMISSIONS or scope not in (OWN, REGION, ANY):
            raise ValueError(f"permission {name} declared twice or with an unknown scope {scope!r}")
        PERMISSIONS[name] = scope
    for role, held in roles.items():
        unknown = set(held) - set(PERMISSIONS)
        if unknown:
            raise ValueError(f"role {role} holds undeclared permissions {sorted(unknown)}")
        ROLE_PERMISSIONS.setdefault(str(role), set()).update(held)


def permissions_of(actor: Actor) -> set[str]:
    if actor.is_system:
        return set(PERMISSIONS)
    granted: set[str] = set()
    for role in actor.roles:
        granted |= ROLE_PERMISSIONS.get(role, set())
    return granted


def can(actor: Actor, permission: str, *, organisation=None, region=None) -> bool:
    try:
        require(actor, permission, organisation=organisation, region=region)
    except PermissionDenied:
        return False
    return True


def require(actor: Actor, permission: str, *, organisation=None, region=None) -> None:
    """Raise PermissionDenied unless ``actor`` holds ``permission`` over the target."""
    scope = PERMISSIONS.get(permission)
    if scope is None:
        raise KeyError(f"unknown permission {permission}")
    if actor.is_system:
        return
    if permission not in permissions_of(actor):
        raise PermissionDenied(f"当前角色无权执行此操作（{permission}）", code="forbidden")
    if scope == OWN and organisation is not None and organisation.pk != actor.organisation.pk:
        raise PermissionDenied("只能对本组织的对象执行此操作", code="other_organisation")
    if scope == REGION:
        target = region or (organisation.region if organisation is not None else None)
        if target is not None and not target.is_within(actor.organisation.region):
            raise PermissionDenied("目标不在本组织的管辖区域内", code="other_region")
