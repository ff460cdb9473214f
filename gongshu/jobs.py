"""Jobs the worker runs: queued work users wait for, and scheduled jobs. Each takes no arguments, is
idempotent and returns a summary."""

from __future__ import annotations


def raise_overdue() -> str:
    from foundation.actor import system_actor
    from workflow.services import raise_overdue_cases

    return f"{len(raise_overdue_cases(system_actor('system')))} overdue case(s) raised"


def flag_stale_data() -> str:
    from foundation.actor import system_actor
    from warehouse.services import flag_stale_data

    return f"{flag_stale_data(system_actor('system'))} stale resource(s) flagged"


def purge_usage_logs() -> str:
    from foundation.actor import system_actor
    from warehouse.services import purge_usage_logs

    return f"{purge_usage_logs(system_actor('system'))} usage log(s) past retention removed"


def refresh_bases() -> str:
    from foundation.actor import system_actor
    from warehouse.bases import refresh

    return f"{len(refresh(system_actor('system')))} base database(s) rebuilt from newer sources"


def run_extractions() -> str:
    from foundation.actor import system_actor
    from warehouse.services import run_due_extractions

    return f"{run_due_extractions(system_actor('system'))} extraction(s) run"


def review_grant_use() -> str:
    from sharing.services import review_grant_use

    counts = review_grant_use()
    return f"{counts['opened']} rectification(s) opened, {counts['suspended']} grant(s) suspended, {counts['terminated']} terminated"


def reevaluate_conditional_entries() -> str:
    from sharing.services import reevaluate_conditional_entries

    return f"{reevaluate_conditional_entries()} conditional entr(ies) put up for re-evaluation"


def copy_usage_logs() -> str:
    from warehouse.usage import catch_up

    return f"{catch_up()} usage log row(s) copied from the audit chain"


def checkpoint_audit() -> str:
    from audit.services import checkpoint_if_due
    from foundation.actor import system_actor
    from foundation.errors import GongshuError

    try:
        written = checkpoint_if_due(system_actor("system"))  # throttled by the rulebook's audit.checkpoint_minutes
    except GongshuError as exc:  # audited as a refusal; verify fails until someone looks
        return f"checkpoint REFUSED: {exc.message}"
    if written is None:
        return "0 checkpoints due"
    return f"checkpoint #{written.head()[0]} signed -> {written.path}"


def fail_stale_batches() -> str:
    from foundation.actor import system_actor
    from warehouse.services import fail_stale_batches

    return f"{len(fail_stale_batches(system_actor('worker')))} interrupted batch(es) refused"


def audit_refusals() -> str:
    from core.auth import audit_refusals

    return f"{audit_refusals()} refusal count(s) audited"


def encrypt_pending() -> str:
    from foundation.actor import system_actor
    from warehouse.regrade import encrypt_pending

    return f"{encrypt_pending(system_actor('system'))} snapshot(s) re-encrypted after a re-grade"


def run_uploads() -> str:
    from warehouse.services import run_queued_uploads

    return f"{run_queued_uploads()} upload(s) checked"


SCHEDULE = [("run_extractions", run_extractions), ("refresh_bases", refresh_bases), ("raise_overdue", raise_overdue),
            ("flag_stale_data", flag_stale_data), ("purge_usage_logs", purge_usage_logs),
            ("review_grant_use", review_grant_use), ("reevaluate_conditional_entries", reevaluate_conditional_entries),
            ("encrypt_pending", encrypt_pending),
            ("fail_stale_batches", fail_stale_batches),
            ("checkpoint_audit", checkpoint_audit)]  # last: it signs the head the jobs before it extended
QUEUED = [("run_uploads", run_uploads), ("copy_usage_logs", copy_usage_logs), ("audit_refusals", audit_refusals)]
QUIET = {"copy_usage_logs"}  # runs on every poll under load: not worth a line each time


def run_queued():
    """Work users wait for: run as soon as the worker sees it; only reported when there was some."""
    for name, job in QUEUED:
        result = job()
        if not result.startswith("0 ") and name not in QUIET:
            yield name, result


def run_scheduled():
    for name, job in SCHEDULE:
        yield name, job()
