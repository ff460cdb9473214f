"""Core's permissions, one per act, and the roles that hold them (P2), declared to the one mechanism
(``foundation.permissions``: own / region / any) when the core app is ready. Each app declares its own in
its ``permissions.py``."""

from __future__ import annotations

from foundation.permissions import OWN, REGION, declare
from foundation.roles import Role

PERMISSIONS: dict[str, str] = {
    # the registry of regions, organisations and users: the bureau, within its region
    "core.create_region": REGION,
    "core.create_organisation": REGION,
    "core.create_user": REGION,
    "core.add_membership": REGION,
    "core.revoke_token": REGION,  # another user's token (one's own needs no permission)
    "core.issue_token": OWN,
    "core.set_calendar_day": REGION,  # holidays and make-up workdays
}

# every role a person holds issues itself API tokens (P3)
ROLE_PERMISSIONS: dict[str, set[str]] = {role: {"core.issue_token"} for role in Role}
ROLE_PERMISSIONS[Role.BUREAU_ADMIN] |= {"core.create_region", "core.create_organisation", "core.create_user",
                                        "core.add_membership", "core.revoke_token", "core.set_calendar_day"}

declare(PERMISSIONS, ROLE_PERMISSIONS)
