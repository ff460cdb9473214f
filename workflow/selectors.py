from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from core import workdays
from foundation.actor import Actor

from .models import Case


def restrict(actor: Actor, qs: QuerySet | None = None) -> QuerySet:
    """Cases the actor may see: its organisation's own, assigned or party cases, open or closed; the region's
    for overseers."""
    from foundation import permissions

    qs = Case.objects.all() if qs is None else qs
    if actor.is_system:
        return qs
    if permissions.can(actor, "workflow.view_cases"):
        region_path = actor.organisation.region.path
        return qs.filter(Q(applicant__region__path__startswith=region_path) | Q(assignee__region__path__startswith=region_path))
    return involving(actor, qs)


def involving(actor: Actor, qs: QuerySet | None = None) -> QuerySet:
    """Cases the acting organisation opened, holds or is a party of (a provider, a reviewer), open or closed."""
    qs = Case.objects.all() if qs is None else qs
    org = actor.organisation.pk
    parties = Case.party_organisations.through.objects.filter(organisation_id=org).values("case_id")
    return qs.filter(Q(applicant_id=org) | Q(assignee_id=org) | Q(pk__in=parties))


def queue(actor: Actor) -> QuerySet:
    """Open cases waiting for the actor's organisation, soonest deadline first."""
    return (
        Case.objects.filter(assignee=actor.organisation, closed_at=None)
        .select_related("applicant", "assignee")
        .order_by("due_on", "due_at", "created_at")
    )


def overdue(qs: QuerySet | None = None, *, now: dt.datetime | None = None) -> QuerySet:
    """Open cases past their deadline: a working-day deadline once its day has ended, an hour deadline
    once its moment has passed."""
    now = now or timezone.now()
    today = timezone.localtime(now, timezone.get_default_timezone()).date()
    qs = Case.objects.all() if qs is None else qs
    late = Q(due_at__isnull=True, due_on__lt=today) | Q(due_at__lt=now)
    return qs.filter(late, closed_at=None).select_related("assignee", "applicant").order_by("due_on", "due_at")


def remaining_workdays(case: Case, today: dt.date | None = None) -> int | None:
    """Working days left before the deadline (negative once overdue). An hour deadline counts the days to
    the day it falls on, and -1 once its moment has passed (``Case.minutes_left`` tells the minutes)."""
    if case.due_on is None or case.closed_at:
        return None
    if case.due_at is not None and case.due_at < timezone.now():
        return -1
    return workdays.workdays_between(today or workdays.today(), case.due_on)


def case_of(subject, case_type: str, *, open_only: bool = False) -> Case | None:
    """The latest case of a type about ``subject`` (any model instance)."""
    from django.contrib.contenttypes.models import ContentType

    qs = Case.objects.filter(case_type=case_type, subject_type=ContentType.objects.get_for_model(subject),
                             subject_id=str(subject.pk))
    if open_only:
        qs = qs.filter(closed_at=None)
    return qs.order_by("-created_at", "-pk").first()
