"""The workflow's permissions and the roles that hold them (P2). Who takes a step is the case's party
(the case engine checks it); a permission only widens what one sees."""

from __future__ import annotations

from foundation.permissions import ANY, REGION, declare
from foundation.roles import PLATFORM_SCHEDULER, Role

PERMISSIONS: dict[str, str] = {
    "workflow.view_cases": REGION,  # every case of a region, for those who oversee it
    "workflow.raise_overdue_cases": ANY,  # scheduled: every case past its deadline is told to its bureau
}

ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.BUREAU_ADMIN: {"workflow.view_cases"},
    Role.SERVICE_CENTRE_STAFF: {"workflow.view_cases"},
    Role.SUPERVISOR: {"workflow.view_cases"},
    PLATFORM_SCHEDULER: {"workflow.raise_overdue_cases"},  # not a person's role: the platform's scheduled work
}

declare(PERMISSIONS, ROLE_PERMISSIONS)
