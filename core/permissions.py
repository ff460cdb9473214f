"""The platform's permissions and the roles that hold them (P2), declared to the one mechanism
(``foundation.permissions``: own / region / any) when the core app is ready."""

from __future__ import annotations

from foundation.permissions import ANY, OWN, REGION, declare
from foundation.roles import Role

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

declare(PERMISSIONS, ROLE_PERMISSIONS)
