from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from core import workdays
from foundation.actor import Actor

from .models import Case


def restrict(actor: Actor, qs: QuerySet | None = None) -> QuerySet:
    """Cases the actor may see: its organisation's own, assigned or party cases; the region's for overseers."""
    from foundation import permissions

    qs = Case.objects.all() if qs is None else qs
    if actor.is_system:
        return qs
    if permissions.can(actor, "cases.view"):
        region_path = actor.organisation.region.path
        return qs.filter(Q(applicant__region__path__startswith=region_path) | Q(assignee__region__path__startswith=region_path))
    org = actor.organisation.pk
    return qs.filter(Q(applicant_id=org) | Q(assignee_id=org))


def queue(actor: Actor) -> QuerySet:
    """Open cases waiting for the actor's organisation, soonest deadline first."""
    return (
        Case.objects.filter(assignee=actor.organisation, closed_at=None)
        .select_related("applicant", "assignee")
        .order_by("due_on", "created_at")
    )


def overdue(today: dt.date | None = None) -> QuerySet:
    today = today or workdays.today()
    return Case.objects.filter(closed_at=None, due_on__lt=today).select_related("assignee", "applicant").order_by("due_on")


def remaining_workdays(case: Case, today: dt.date | None = None) -> int | None:
    if case.due_on is None or case.closed_at:
        return None
    return workdays.workdays_between(today or workdays.today(), case.due_on)
