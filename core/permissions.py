"""One permission check used by every service, scoped to organisation and region (P2).

A permission is a name (``catalog.review``). Roles grant permissions; each permission has a scope:

* ``own``: the target organisation must be the acting organisation;
* ``region``: the target must lie in the acting organisation's region or below it;
* ``any``: no target restriction (reading the published catalog, for example).
"""

from __future__ import annotations

from .actor import Actor
from .errors import PermissionDenied
from .models import Role

OWN, REGION, ANY = "own", "region", "any"

PERMISSIONS: dict[str, str] = {
    # catalog
    "catalog.draft": OWN,
    "catalog.submit": OWN,
    "catalog.review": REGION,
    "catalog.verify": REGION,
    "catalog.view": ANY,
    "catalog.view_drafts": REGION,
    # warehouse
    "data.ingest": OWN,
    "data.register_source": OWN,  # a source database for extraction (A1)
    "data.review_source": REGION,  # suspend or reinstate an approved source database
    "data.keep_source_hosts": REGION,  # the PostgreSQL host allowlist
    # sharing
    "share.request": OWN,
    "share.call": OWN,
    # cases
    "cases.view": REGION,
    # accounts
    "tokens.manage": OWN,
    # platform administration
    "workdays.edit": REGION,
    "audit.view": REGION,
    "organisations.manage": REGION,
}

ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.BUREAU_ADMIN: {
        "catalog.review", "catalog.view", "catalog.view_drafts", "cases.view", "tokens.manage",
        "workdays.edit", "audit.view", "organisations.manage", "data.review_source", "data.keep_source_hosts",
    },
    # The service centre also provides what it consolidates: base and theme databases (SYS Art. 19).
    Role.SERVICE_CENTRE_STAFF: {"catalog.verify", "catalog.view", "catalog.view_drafts", "cases.view", "tokens.manage",
                                "catalog.draft", "catalog.submit", "data.ingest", "data.register_source"},
    Role.DATA_OFFICER: {"catalog.draft", "catalog.submit", "catalog.view", "tokens.manage", "data.ingest",
                        "data.register_source", "share.request", "share.call"},
    Role.AGENCY_STAFF: {"catalog.draft", "catalog.view", "tokens.manage", "data.ingest", "share.request", "share.call"},
    Role.OPERATOR_STAFF: {"catalog.view", "tokens.manage"},
    Role.DEVELOPER_STAFF: {"catalog.view", "tokens.manage"},
    Role.PUBLIC_USER: {"catalog.view", "tokens.manage"},
    Role.SUPERVISOR: {"catalog.view", "catalog.view_drafts", "cases.view", "audit.view", "tokens.manage"},
    Role.EXPERT: {"catalog.view", "tokens.manage"},
    # not a person's role: a registered front-end machine of an agency (A1, 前置机)
    "front_end_machine": {"data.ingest"},
    # not a person's role: a lower Gongshu instance in federation, acting for its organisation here (S9)
    "federation_peer": {"share.request", "share.call"},
}


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
