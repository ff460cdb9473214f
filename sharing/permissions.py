"""Sharing's permissions, one per act (named after its service, or the read it guards), and the roles that
hold them (P2). A provider decides on requests for its data as a party of the case (the case engine
checks the party), not by a permission."""

from __future__ import annotations

from foundation.permissions import ANY, OWN, REGION, declare
from foundation.roles import PLATFORM_SCHEDULER, Role

# an agency asks, for itself: share requests (S3), demands (S8), disputes (S6), backflow (A7), onward provision,
# a request forwarded to the upper instance (S9)
ASKING = {"sharing.request_share", "sharing.raise_demand", "sharing.raise_dispute", "sharing.backflow",
          "sharing.ask_onward", "sharing.forward_request"}
CALLING = {"sharing.call", "sharing.call_remote", "sharing.report_use"}  # the data of its grants, here and at the upper instance
# those who oversee a region: its requests, grants and corrections; a mismatch found by cross-checking its data (S5)
OVERSEEING = {"sharing.view_region", "sharing.raise_correction"}

PERMISSIONS: dict[str, str] = {
    **{name: OWN for name in ASKING | CALLING},
    **{name: REGION for name in OVERSEEING},
    "sharing.revoke_grant": REGION,  # the bureau over the provider's region (its data officer needs none)
    "sharing.add_peer": REGION,  # another Gongshu instance in federation (S9)
    "sharing.expire_grants": ANY,  # scheduled: every grant past its end date expires (S7)
}

ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.BUREAU_ADMIN: OVERSEEING | {"sharing.revoke_grant", "sharing.add_peer"},
    Role.SERVICE_CENTRE_STAFF: OVERSEEING,
    Role.DATA_OFFICER: ASKING | CALLING,
    Role.AGENCY_STAFF: ASKING | CALLING,
    Role.SUPERVISOR: OVERSEEING,
    # not a person's role: a lower Gongshu instance in federation, acting for its organisation here (S9)
    "federation_peer": ASKING | CALLING,
    PLATFORM_SCHEDULER: {"sharing.expire_grants"},  # not a person's role: the platform's scheduled work
}

declare(PERMISSIONS, ROLE_PERMISSIONS)
