from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from foundation.errors import GongshuError, NotFound
from foundation.viewkit import actor_of

from core import selectors as core_selectors

from . import engine, selectors, services


def _access(actor, number):
    case = selectors.restrict(actor).filter(number=number).select_related("applicant", "assignee").first()
    if case is None:
        raise NotFound("办件不存在或无权查看")
    return case


@login_required
def queue(request):
    actor = actor_of(request)
    mine = list(selectors.queue(actor))
    region = []
    if actor.has_role("bureau_admin", "supervisor"):
        region = list(selectors.restrict(actor).filter(closed_at=None).select_related("applicant", "assignee").order_by("due_on")[:200])
    involved = selectors.involving(actor).select_related("applicant", "assignee")
    # the cases it takes part in while another body holds the step, and those that ended
    waiting = list(involved.filter(closed_at=None).exclude(assignee=actor.organisation).order_by("due_on")[:100])
    closed = list(involved.exclude(closed_at=None).order_by("-closed_at")[:100])
    for case in mine + region + waiting:
        case.remaining = selectors.remaining_workdays(case)
    return render(request, "workflow/queue.html", {"mine": mine, "region": region, "waiting": waiting, "closed": closed})


@login_required
def detail(request, number):
    actor = actor_of(request)
    case = _access(actor, number)
    case.remaining = selectors.remaining_workdays(case)
    return render(request, "workflow/detail.html", {
        "case": case,
        "steps": case.steps.select_related("organisation"),
        "actions": services.available_transitions(actor, case),
        "subject_url": getattr(case.subject, "get_absolute_url", lambda: "")(),
        "facts": engine.summary(actor, case),  # what the case decides, shown beside the decision
    })


@login_required
@require_POST
def take_transition(request, number):
    actor = actor_of(request)
    case = _access(actor, number)
    try:
        services.transition(actor, case, request.POST.get("transition", ""), comment=request.POST.get("comment", ""))
    except GongshuError as exc:  # refused: nothing changed, and the decider stays on the case
        messages.error(request, exc.message)
    else:
        messages.success(request, "已办理")
    return redirect("workflow:detail", number=number)


@login_required
def home(request):
    """The workbench: the cases waiting on the acting organisation, those it opened, its notifications."""
    actor = actor_of(request)
    queue = list(selectors.queue(actor)[:50])
    for case in queue:
        case.remaining = selectors.remaining_workdays(case)
    opened = selectors.restrict(actor).filter(applicant=actor.organisation, closed_at=None).select_related("assignee")[:20]
    notes = core_selectors.notifications_for(actor)[:10]
    return render(request, "core/home.html", {"queue": queue, "opened": opened, "notifications": notes})
