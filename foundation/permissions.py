"""One permission check used by every service, scoped to organisation and region (P2): the mechanism only.

A permission names one act, after the service that performs it (``catalog.submit_resource``,
``sharing.request_share``) or the read it guards (``catalog.view_drafts``). Each app declares its own, and
the roles holding them, in its ``permissions.py`` (imported by its AppConfig.ready). Each permission has a
scope:

* ``own``: the target organisation must be the acting organisation;
* ``region``: the target must lie in the acting organisation's region or below it;
* ``any``: no target restriction.

``require`` checks one target; ``target_filter`` is the same rule as a query condition, for the selectors
that restrict a queryset to what an actor may act on (``restrict(actor, action)``).
"""

from __future__ import annotations

from django.db.models import Q

from .actor import Actor
from .errors import PermissionDenied

OWN, REGION, ANY = "own", "region", "any"
# A fourth scope, ``person`` (the target user must be the acting user: a natural person's own records), goes
# here when an act needs it. None does today: revoking one's own token (core.services.revoke_token) and a
# person's correction of data about itself (sharing.services.raise_correction) check the person themselves.
SCOPES = (OWN, REGION, ANY)

PERMISSIONS: dict[str, str] = {}  # permission -> scope
ROLE_PERMISSIONS: dict[str, set[str]] = {}  # role -> permissions


def declare(permissions: dict[str, str], roles: dict[str, set[str]]) -> None:
    """Add permissions (name -> scope) and the roles that hold them; a name declared twice is a mistake."""
    for name, scope in permissions.items():
        if name in PERMISSIONS or scope not in SCOPES:
            raise ValueError(f"permission {name} declared twice or with an unknown scope {scope!r}")
        PERMISSIONS[name] = scope
    for role, held in roles.items():
        unknown = set(held) - set(PERMISSIONS)
        if unknown:
            raise ValueError(f"role {role} holds undeclared permissions {sorted(unknown)}")
        ROLE_PERMISSIONS.setdefault(str(role), set()).update(held)


def roles_holding(permission: str) -> set[str]:
    """The roles that hold ``permission`` (who can do an act: e.g. whom to tell a draft waits for them)."""
    return {role for role, held in ROLE_PERMISSIONS.items() if permission in held}


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


def target_filter(actor: Actor, permission: str, *, organisation: str) -> Q:
    """The rows ``require`` would let ``actor`` act on with ``permission``, as a condition on the lookup
    ``organisation`` (the path to the target organisation, ``"provider"`` for a catalog entry): every row for
    the platform and for ``any``; the acting organisation's for ``own``; its region's and below for ``region``;
    none without the permission."""
    scope = PERMISSIONS.get(permission)
    if scope is None:
        raise KeyError(f"unknown permission {permission}")
    if actor.is_system or (scope == ANY and permission in permissions_of(actor)):
        return Q()
    if permission not in permissions_of(actor) or actor.organisation is None:
        return Q(pk__in=[])
    if scope == OWN:
        return Q(**{organisation: actor.organisation.pk})
    return Q(**{f"{organisation}__region__path__startswith": actor.organisation.region.path})
