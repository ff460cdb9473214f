"""P2: permissions per act (issue 13, item 6). Every app declares its own permissions, one per act, in its
``permissions.py``; splitting the platform's former permissions by act gave no role a right it did not have
and took none away: each new permission is held by exactly the roles that held the one (or ones) it comes
from, with the same scope."""

import ast
from pathlib import Path

from foundation import permissions
from foundation.permissions import ANY, OWN, REGION

ROOT = Path(__file__).resolve().parents[2]

# The table core.permissions held before the split (commit 5c5c20b), kept here as it was.
FORMER_SCOPES = {
    "catalog.draft": OWN, "catalog.submit": OWN, "catalog.review": REGION, "catalog.verify": REGION,
    "catalog.view": ANY, "catalog.view_drafts": REGION,
    "data.ingest": OWN, "data.register_source": OWN, "data.review_source": REGION, "data.keep_source_hosts": REGION,
    "share.request": OWN, "share.call": OWN, "cases.view": REGION, "tokens.manage": OWN,
    "workdays.edit": REGION, "audit.view": REGION, "organisations.manage": REGION, "jobs.view": ANY,
}
FORMER_HOLDINGS = {
    "bureau_admin": {"catalog.review", "catalog.view", "catalog.view_drafts", "cases.view", "tokens.manage",
                     "workdays.edit", "audit.view", "organisations.manage", "data.review_source",
                     "data.keep_source_hosts", "jobs.view"},
    "service_centre_staff": {"catalog.verify", "catalog.view", "catalog.view_drafts", "cases.view", "tokens.manage",
                             "catalog.draft", "catalog.submit", "data.ingest", "data.register_source"},
    "data_officer": {"catalog.draft", "catalog.submit", "catalog.view", "tokens.manage", "data.ingest",
                     "data.register_source", "share.request", "share.call"},
    "agency_staff": {"catalog.draft", "catalog.view", "tokens.manage", "data.ingest", "share.request", "share.call"},
    "operator_staff": {"catalog.view", "tokens.manage"},
    "developer_staff": {"catalog.view", "tokens.manage"},
    "public_user": {"catalog.view", "tokens.manage"},
    "supervisor": {"catalog.view", "catalog.view_drafts", "cases.view", "audit.view", "tokens.manage"},
    "expert": {"catalog.view", "tokens.manage"},
    "front_end_machine": {"data.ingest"},
    "federation_peer": {"share.request", "share.call"},
}
# ``catalog.view`` was held by every role and checked nowhere (the published catalog is every signed-in user's):
# it has no successor.
UNCHECKED = {"catalog.view"}

# each permission now declared -> the former permission(s) whose holders it has (either of two: held by both sets)
SPLIT = {
    **dict.fromkeys(["catalog.draft_resource", "catalog.update_draft", "catalog.suggest_grades",
                     "catalog.decide_suggestion", "catalog.add_demand_entry"], {"catalog.draft"}),
    **dict.fromkeys(["catalog.submit_resource", "catalog.register_project", "catalog.file_project_resources",
                     "catalog.accept_project"], {"catalog.submit"}),
    **dict.fromkeys(["catalog.add_open_priority_entry", "sharing.revoke_grant"], {"catalog.review"}),
    "warehouse.assign_problem_data": {"catalog.review", "catalog.verify"},  # was: either one
    **dict.fromkeys(["catalog.view_drafts", "catalog.view_projects", "catalog.view_oversight",
                     "warehouse.view_freshness"], {"catalog.view_drafts"}),
    **dict.fromkeys(["warehouse.ingest", "warehouse.assign_issue", "warehouse.register_front_end",
                     "warehouse.register_extraction"], {"data.ingest"}),
    "warehouse.register_source_database": {"data.register_source"},
    **dict.fromkeys(["warehouse.suspend_source_database", "warehouse.reinstate_source_database",
                     "warehouse.view_source_databases"], {"data.review_source"}),
    **dict.fromkeys(["warehouse.add_source_host", "warehouse.remove_source_host", "warehouse.view_source_hosts"],
                    {"data.keep_source_hosts"}),
    **dict.fromkeys(["sharing.request_share", "sharing.raise_demand", "sharing.raise_dispute", "sharing.backflow",
                     "sharing.ask_onward", "sharing.forward_request"], {"share.request"}),
    **dict.fromkeys(["sharing.call", "sharing.call_remote"], {"share.call"}),
    **dict.fromkeys(["workflow.view_cases", "warehouse.view_data", "warehouse.query_oversight", "sharing.view_region",
                     "sharing.raise_correction"], {"cases.view"}),
    **dict.fromkeys(["audit.view", "warehouse.view_usage"], {"audit.view"}),
    "core.issue_token": {"tokens.manage"},
    "core.set_calendar_day": {"workdays.edit"},
    **dict.fromkeys(["core.create_region", "core.create_organisation", "core.create_user", "core.add_membership",
                     "core.revoke_token", "sharing.add_peer"], {"organisations.manage"}),
    "jobs.view": {"jobs.view"},
}

# Added after the split: the platform's named scheduler (platform_scheduler, issue 13 item 6), which the
# scheduled jobs act as instead of the unchecked ``system``. Each job's service has its own permission, held
# by the scheduler alone, for any target; besides, it delivers a provider's scheduled extraction and the
# service centre's bases (acting for that organisation) and reads every entry's freshness.
SCHEDULED = {"warehouse.run_due_extractions", "warehouse.refresh_bases", "warehouse.flag_stale_data",
             "warehouse.purge_usage_logs", "warehouse.fail_stale_batches", "warehouse.encrypt_pending",
             "workflow.raise_overdue_cases", "sharing.expire_grants"}
# acts added since the split, each with the roles that hold it
NEW_ACTS = {"warehouse.request_governance": {"data_officer"},  # SYS Art. 17(3)
            "catalog.record_basis_change": {"data_officer", "service_centre_staff"},  # SYS Art. 13(1)
            "sharing.report_use": {"data_officer", "agency_staff"}}  # A6, SYS Art. 20
NEW_HOLDINGS = {"platform_scheduler": SCHEDULED | {"warehouse.ingest", "warehouse.view_freshness"}}
for _act, _roles in NEW_ACTS.items():
    for _role in _roles:
        NEW_HOLDINGS.setdefault(_role, set()).add(_act)


def test_every_declared_permission_comes_from_a_former_one_P2():
    assert set(permissions.PERMISSIONS) == set(SPLIT) | SCHEDULED | set(NEW_ACTS)
    assert set().union(*SPLIT.values()) == set(FORMER_SCOPES) - UNCHECKED


def test_each_permission_is_held_by_exactly_the_roles_that_held_its_former_one_with_its_scope_P2():
    roles = set(FORMER_HOLDINGS) | set(permissions.ROLE_PERMISSIONS)
    wrong = []
    for name, former in SPLIT.items():
        assert {FORMER_SCOPES[f] for f in former} == {permissions.PERMISSIONS[name]}, name
        for role in sorted(roles):
            held_before = bool(former & FORMER_HOLDINGS.get(role, set()))
            expected = held_before or name in NEW_HOLDINGS.get(role, set())
            if expected != (name in permissions.ROLE_PERMISSIONS.get(role, set())):
                wrong.append(f"{role} {'lost' if held_before else 'gained'} {name}")
    assert not wrong, wrong


def test_the_scheduler_holds_exactly_its_jobs_permissions_and_no_one_else_holds_them_P2_SEC1():
    assert {name: permissions.PERMISSIONS[name] for name in SCHEDULED} == dict.fromkeys(SCHEDULED, ANY)
    assert permissions.ROLE_PERMISSIONS["platform_scheduler"] == NEW_HOLDINGS["platform_scheduler"]
    others = {role: held & SCHEDULED for role, held in permissions.ROLE_PERMISSIONS.items()
              if role != "platform_scheduler"}
    assert not any(others.values()), others


def test_each_app_declares_its_own_permissions_in_its_permissions_module_P2():
    """``<app>.<act>`` is declared by ``<app>/permissions.py`` (jobs.view by the job records' app), nothing else
    calls ``declare``."""
    declared_in = {}
    for path in sorted(ROOT.glob("**/*.py")):
        parts = path.relative_to(ROOT).parts
        if {".venv", "tests", "migrations"} & set(parts):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "declare"]
        if calls and "from foundation.permissions import" in path.read_text(encoding="utf-8"):
            declared_in[path.relative_to(ROOT).as_posix()] = path
    assert sorted(declared_in) == ["audit/permissions.py", "catalog/permissions.py", "core/permissions.py",
                                   "gongshu/jobrecords/permissions.py", "sharing/permissions.py",
                                   "warehouse/permissions.py", "workflow/permissions.py"]
    for relative in declared_in:
        module = __import__(relative[:-3].replace("/", "."), fromlist=["PERMISSIONS"])
        app = "jobs" if relative.startswith("gongshu/jobrecords") else relative.split("/")[0]
        assert {name.split(".")[0] for name in module.PERMISSIONS} == {app}, relative


def test_a_permission_named_in_a_check_is_declared_P2():
    """Static: the literal permission of every ``require``/``can``/``target_filter``/``restrict`` call and every
    ``permission=`` is declared (a former name left behind fails here, not only when its check runs)."""
    checks = {"require", "can", "target_filter", "restrict"}
    undeclared = []
    for path in sorted(ROOT.glob("**/*.py")):
        if {".venv", "tests", "migrations"} & set(path.relative_to(ROOT).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            literals = [a for a in node.args[1:2] if name in checks and getattr(node.func, "value", None) is not None
                        and getattr(node.func.value, "id", "") in {"permissions", "selectors", "catalog_selectors"}]
            literals += [k.value for k in node.keywords if k.arg == "permission"]
            for literal in literals:
                if isinstance(literal, ast.Constant) and isinstance(literal.value, str) \
                        and literal.value not in permissions.PERMISSIONS:
                    undeclared.append(f"{path.relative_to(ROOT)}:{node.lineno} {literal.value}")
    assert not undeclared, undeclared
