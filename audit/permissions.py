"""The audit trail's permission and the roles that hold it (P2): what an event says is for its own
organisation and for those who oversee the audit trail of a region (the rule: ``core.selectors.may_see_event``)."""

from __future__ import annotations

from foundation.permissions import REGION, declare
from foundation.roles import Role

PERMISSIONS: dict[str, str] = {
    "audit.view": REGION,
}

ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.BUREAU_ADMIN: {"audit.view"},
    Role.SUPERVISOR: {"audit.view"},
}

declare(PERMISSIONS, ROLE_PERMISSIONS)
