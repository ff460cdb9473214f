"""Reads of sharing, each restricted to what the acting organisation may see."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from foundation import permissions

from core import workdays
from foundation.actor import Actor
from foundation.errors import NotFound
from warehouse import usage
from workflow.engine import case_type

from .models import Grant, ShareRequest


def _visible(qs: QuerySet, actor: Actor, own: Q) -> QuerySet:
    """Rows that are the actor's ``own``, on its organisation's data (as provider), or in the region it
    oversees."""
    if actor.is_system:
        return qs
    org = actor.organisation
    condition = own | Q(resource__provider=org)
    if permissions.can(actor, "sharing.view_region", organisation=org):
        condition |= Q(resource__provider__region__path__startswith=org.region.path)
    return qs.filter(condition)


def _for(model, actor: Actor, party: str) -> QuerySet:
    """Own as ``party`` (applicant or holder), as provider, or in the region the actor oversees."""
    qs = model.objects.select_related("resource", "resource__provider", party)
    return _visible(qs, actor, Q(**{party: actor.organisation}) if actor.organisation else Q(pk__in=[]))


def requests_for(actor: Actor) -> QuerySet:
    return _for(ShareRequest, actor, "applicant").select_related("case").order_by("-created_at")


def grants_for(actor: Actor) -> QuerySet:
    return _for(Grant, actor, "holder").order_by("-created_at")


def access_request(actor: Actor, request_id: int) -> ShareRequest:
    found = requests_for(actor).filter(pk=request_id).first()
    if found is None:
        raise NotFound("共享申请不存在或无权查看", code="not_found")
    return found


def access_grant(actor: Actor, ref: str) -> Grant:
    found = grants_for(actor).filter(ref=ref).first()
    if found is None:
        raise NotFound("授权不存在或无权查看", code="not_found")
    return found


def dashboard(actor: Actor, *, days: int = 30) -> dict:
    """The sharing picture for the acting organisation's view: requests by state, overdue requests, and
    calls per agency over the last ``days`` days (for the bureau: its whole region)."""
    requests = requests_for(actor)
    # order_by(): the requests' own ordering would join the GROUP BY (one group per request, counted as 1)
    states = dict(requests.order_by().values_list("case__state").annotate(n=Count("pk")).values_list("case__state", "n"))
    labels = {s.name: s.label for s in case_type("share_request").states}
    since = timezone.now() - dt.timedelta(days=days)
    grants = grants_for(actor)
    refs = list(grants.values_list("ref", flat=True))
    calls = usage.logs().filter(scope="grant", grant_ref__in=refs, at__gte=since)
    per_agency = list(calls.values("organisation__name").annotate(n=Count("pk")).order_by("-n")[:20])
    per_day = list(calls.annotate(day=TruncDate("at")).values("day").annotate(n=Count("pk")).order_by("day"))
    return {
        "states": [{"state": labels.get(k, k), "n": v} for k, v in states.items()],
        "overdue": requests.filter(case__due_on__lt=workdays.today(), case__closed_at__isnull=True),
        "per_agency": [{"agency": r["organisation__name"] or "—", "n": r["n"]} for r in per_agency],
        "per_day": [{"day": r["day"].isoformat(), "n": r["n"]} for r in per_day],
        "grants": grants,
    }


def revocations_of(grant: Grant):
    """The revocation requests of a grant the actor may already see (``access_grant``), newest first."""
    return grant.revocations.select_related("case").order_by("-created_at")


def grant_statistics(grant: Grant, *, days: int = 90) -> dict:
    calls = usage.logs().filter(grant_ref=grant.ref)
    since = timezone.now() - dt.timedelta(days=days)
    per_day = [{"day": r["day"].isoformat(), "n": r["n"]}
               for r in calls.filter(at__gte=since).annotate(day=TruncDate("at")).values("day").annotate(n=Count("pk")).order_by("day")]
    return {
        "calls": calls.count(),
        "rows": calls.aggregate(rows=Sum("row_count"))["rows"] or 0,
        "last_call": calls.aggregate(last=Max("at"))["last"],
        "refused": grant.refusals.count(),
        "per_day": per_day,
        "recent": {"days": days, "calls": sum(r["n"] for r in per_day)},  # what the chart of per_day adds up to
        "refusals": grant.refusals.all()[:20],
    }


def corrections_for(actor: Actor) -> QuerySet:
    """Raised by the actor (or its organisation — not the public's shared one), against its data, or in
    the region it oversees."""
    from .models import Correction

    qs = Correction.objects.select_related("resource", "case", "raised_for")
    if actor.is_system:
        return qs
    own = Q(raised_by=actor.user)
    if actor.organisation.kind != "public":
        own |= Q(raised_for=actor.organisation)
    return _visible(qs, actor, own)


def correctable_resources() -> QuerySet:
    """S5: the published, mounted entries keyed by a person's or an organisation's identifier: the ones a
    person or an organisation can ask to correct about itself."""
    from catalog.selectors import published

    return published().filter(mounted_at__isnull=False, items__is_key=True,
                               items__sensitivity__in=("citizen_id", "uscc")).distinct().order_by("code")


def backflow_resources(actor: Actor) -> QuerySet:
    """A7: published entries of the regions above the actor's that carry a region column the rulebook lets
    flow back (``backflow.region_columns``)."""
    from catalog.selectors import published
    from foundation import rulebook

    above = [r for r in actor.organisation.region.ancestors_and_self() if r.pk != actor.organisation.region_id]
    columns = (rulebook.current().backflow or {}).get("region_columns", [])
    return published().filter(provider__region__in=above, items__column__in=columns).distinct().order_by("code")


# --- federation (S9) ------------------------------------------------------------------------------


def upper_peers() -> QuerySet:
    from .models import Peer

    return Peer.objects.filter(level=Peer.Level.UPPER).order_by("name")


def remote_requests_for(actor: Actor) -> QuerySet:
    """The requests the acting organisation forwarded to an upper instance."""
    from .models import RemoteRequest

    return RemoteRequest.objects.select_related("peer").filter(applicant=actor.organisation)


def requests_of(organisation) -> QuerySet:
    """The share requests an organisation made (a lower instance's, forwarded here, for its peer)."""
    return ShareRequest.objects.select_related("case").filter(applicant=organisation)


def misuse_findings(actor: Actor, *, open_only: bool = True) -> QuerySet:
    """S7: the misuse monitor's findings on grants of the region the actor oversees (rectification cases),
    open ones first by deadline."""
    from .models import Rectification

    if not actor.is_system and not permissions.can(actor, "sharing.view_region", organisation=actor.organisation):
        return Rectification.objects.none()
    qs = Rectification.objects.select_related("grant__holder", "grant__resource", "case")
    if not actor.is_system:
        qs = qs.filter(grant__resource__provider__region__path__startswith=actor.organisation.region.path)
    if open_only:
        qs = qs.filter(case__closed_at__isnull=True)
    return qs.order_by("case__due_on", "-created_at")
