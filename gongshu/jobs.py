"""Scheduled jobs the worker runs. Each takes no arguments, is idempotent and returns a summary."""

from __future__ import annotations


def raise_overdue() -> str:
    from core.actor import system_actor
    from workflow.services import raise_overdue_cases

    return f"{len(raise_overdue_cases(system_actor('system')))} overdue case(s) raised"


SCHEDULE = [("raise_overdue", raise_overdue)]


def run_scheduled():
    for name, job in SCHEDULE:
        yield name, job()
