"""The warehouse's permissions, one per act (named after its service, or the read it guards), and the roles
that hold them (P2)."""

from __future__ import annotations

from foundation.permissions import ANY, OWN, REGION, declare
from foundation.roles import PLATFORM_SCHEDULER, Role

# the provider delivers its own data: uploads, pushes and extraction runs, its front-end machines and extraction
# schedules, problem data assigned inside it; the service centre provides the bases (SYS Art. 19)
DELIVERING = {"warehouse.ingest", "warehouse.assign_issue", "warehouse.register_front_end", "warehouse.register_extraction"}
# the bureau keeps its region's source databases (A1) and the PostgreSQL host allowlist
KEEPING_SOURCES = {"warehouse.suspend_source_database", "warehouse.reinstate_source_database",
                   "warehouse.view_source_databases", "warehouse.add_source_host", "warehouse.remove_source_host",
                   "warehouse.view_source_hosts"}
# those who oversee a region: its batches and snapshots, its data (masked by grade), its freshness
OVERSEEING = {"warehouse.view_data", "warehouse.query_oversight", "warehouse.view_freshness"}

PERMISSIONS: dict[str, str] = {
    **{name: OWN for name in DELIVERING},
    "warehouse.register_source_database": OWN,  # a source database for extraction (A1)
    **{name: REGION for name in KEEPING_SOURCES | OVERSEEING},
    # the bureau over the provider, or the service centre it designates, assigns problem data, the checks' or a
    # problem reported by cross-verification (assign_problem_data, report_problem_data; SYS Art. 28(1), 10(3))
    "warehouse.assign_problem_data": REGION,
    "warehouse.view_usage": REGION,  # the usage log of a region (A6)
    "warehouse.request_governance": OWN,  # an agency's data-governance request to its bureau (SYS Art. 17(3))
}

# the platform's scheduled work, each job's service (any provider's): extractions due (A1), the base databases
# rebuilt from newer sources, data past its update frequency flagged (A2), usage logs past retention removed
# (A6), batches left by a killed process refused, snapshots re-encrypted after a re-grade (G1, SEC3)
SCHEDULED = {"warehouse.run_due_extractions", "warehouse.refresh_bases", "warehouse.flag_stale_data",
             "warehouse.purge_usage_logs", "warehouse.fail_stale_batches", "warehouse.encrypt_pending"}
PERMISSIONS |= {name: ANY for name in SCHEDULED}

ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.BUREAU_ADMIN: KEEPING_SOURCES | OVERSEEING | {"warehouse.assign_problem_data", "warehouse.view_usage"},
    Role.SERVICE_CENTRE_STAFF: DELIVERING | OVERSEEING | {"warehouse.register_source_database",
                                                          "warehouse.assign_problem_data"},
    Role.DATA_OFFICER: DELIVERING | {"warehouse.register_source_database", "warehouse.request_governance"},
    Role.AGENCY_STAFF: DELIVERING,
    Role.SUPERVISOR: OVERSEEING | {"warehouse.view_usage"},
    # not a person's role: a registered front-end machine of an agency (A1, 前置机)
    "front_end_machine": DELIVERING,
    # not a person's role: the platform's scheduled work. It delivers a provider's data on its registered
    # extraction schedule and the service centre's bases, acting for that organisation (``acting_for``), and
    # reads every entry's freshness to flag stale data
    PLATFORM_SCHEDULER: SCHEDULED | {"warehouse.ingest", "warehouse.view_freshness"},
}

declare(PERMISSIONS, ROLE_PERMISSIONS)
