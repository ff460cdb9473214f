"""The catalog's permissions, one per act (named after its service, or the read it guards), and the roles
that hold them (P2). The bureau and the service centre review entries as parties of their cases (the
case engine checks the party), not by a permission."""

from __future__ import annotations

from foundation.permissions import OWN, REGION, declare
from foundation.roles import Role

# the provider's own entries: agency members draft, the data officer submits; the service centre also provides
# what it consolidates (base and theme databases, SYS Art. 19)
DRAFTING = {"catalog.draft_resource", "catalog.update_draft", "catalog.suggest_grades", "catalog.decide_suggestion",
            "catalog.add_demand_entry"}
SUBMITTING = {"catalog.submit_resource", "catalog.register_project", "catalog.file_project_resources",
              "catalog.accept_project", "catalog.record_basis_change"}
# the unpublished entries, working copies and projects of a region: its reviewers and overseers
OVERSEEING = {"catalog.view_drafts", "catalog.view_projects", "catalog.view_oversight"}

PERMISSIONS: dict[str, str] = {
    **{name: OWN for name in DRAFTING | SUBMITTING},
    **{name: REGION for name in OVERSEEING},
    "catalog.add_open_priority_entry": REGION,  # the annual open priority list is the bureau's (QZ Art. 10)
}

ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.BUREAU_ADMIN: OVERSEEING | {"catalog.add_open_priority_entry"},
    Role.SERVICE_CENTRE_STAFF: OVERSEEING | DRAFTING | SUBMITTING,
    Role.DATA_OFFICER: DRAFTING | SUBMITTING,
    Role.AGENCY_STAFF: DRAFTING,
    Role.SUPERVISOR: OVERSEEING,
}

declare(PERMISSIONS, ROLE_PERMISSIONS)
