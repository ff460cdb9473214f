"""Opening and moving cases; raising overdue cases to the bureau."""

from __future__ import annotations

import datetime as dt

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from audit.services import record, service
from foundation import permissions, rulebook
from core import workdays
from foundation.actor import Actor
from foundation.errors import Conflict, PermissionDenied, ValidationFailed
from core.models import Organisation
from core.services import collect_notices, notify
from core.workdays import add_workdays

from . import engine
from .models import Case, CaseStep


def _due(rule: str | None, today: dt.date, now: dt.datetime) -> tuple[dt.date | None, dt.datetime | None]:
    """The deadline a rule sets from now: (due_on, None) for working days; (its date, the moment) for hours."""
    if not rule:
        return None, None
    limit = rulebook.time_limit(rule)
    if limit.in_hours:
        moment = now + dt.timedelta(hours=limit.amount)  # wall-clock hours: nights and holidays count
        return timezone.localtime(moment, timezone.get_default_timezone()).date(), moment
    return add_workdays(today, limit.amount), None


def due_label(case: Case) -> str:
    """The deadline as written in notices: the day, or for an hour deadline the minute, in the city's time."""
    if case.due_at is not None:
        return f"{timezone.localtime(case.due_at, timezone.get_default_timezone()):%Y-%m-%d %H:%M}"
    return str(case.due_on) if case.due_on else "—"


def _tell_applicant(case: Case, state: engine.State, sent: list) -> None:
    """Every final state tells the applicant how its case ended, once: a hook that told it already (the
    grant it got, say) said more than this notice would. A member of the public also hears it in person."""
    applicant_id = case.party("applicant")
    if applicant_id is None or any(n.organisation_id == applicant_id for n in sent):
        return
    message = f"{case.type.label} {case.number}：{state.label}"
    link = f"/cases/{case.number}/"
    notify(organisation_id=applicant_id, kind="case", message=message, link=link)
    if case.opened_by_id and Organisation.objects.filter(pk=applicant_id, kind=Organisation.Kind.PUBLIC).exists():
        notify(user=case.opened_by, kind="case", message=f"您提出的{message}", link=link)


def _enter(actor: Actor, case: Case, state_name: str, *, transition: str, label: str, comment: str, from_state: str,
           since: dt.date | None = None) -> CaseStep:
    state = case.type.state(state_name)
    now = timezone.now()
    today = workdays.today()
    case.state = state_name
    case.state_entered_on = today
    case.deadline_rule = state.deadline or ""
    case.due_on, case.due_at = _due(state.deadline, since or today, now)
    assignee_id = case.party(state.party) if state.party else None
    case.assignee_id = assignee_id
    case.overdue_raised_at = None
    case.closed_at = now if state.final else None
    case.save()
    after = {"state": state_name, "due_on": case.due_on, "assignee": assignee_id}
    if case.due_at is not None:
        after["due_at"] = case.due_at
    event = record(
        actor,
        f"workflow.{case.case_type}.{transition}",
        case,
        before={"state": from_state} if from_state else None,
        after=after,
        detail={"comment": comment} if comment else None,
    )
    step = CaseStep.objects.create(
        case=case,
        transition=transition,
        label=label,
        from_state=from_state,
        to_state=state_name,
        actor=actor.user,
        actor_name=actor.label,
        organisation=actor.organisation,
        comment=comment,
        due_on=case.due_on,
        due_at=case.due_at,
        audit_seq=event.seq,
    )
    if assignee_id and not state.final:
        notify(
            organisation_id=assignee_id,
            kind="case",
            message=f"待办：{case.title}（{state.label}），请于 {due_label(case)} 前办理",
            link=f"/cases/{case.number}/",
        )
    sent: list = []
    if state.on_enter:
        with collect_notices() as sent:
            state.hook(actor, case)
    if state.final:
        _tell_applicant(case, state, sent)
    return step


def open_case(
    actor: Actor,
    *,
    case_type: str,
    subject,
    title: str,
    parties: dict[str, Organisation],
    initial: str,
    transition: str = "open",
    label: str = "提交",
    comment: str = "",
    since: dt.date | None = None,
) -> Case:
    """Open a case of the type named ``case_type`` in ``initial``, one of the states the type may be opened
    in: the one way every service opens a case, inside its own transaction. ``parties`` names the
    organisation of each party the type's states and transitions name (the applicant defaults to the
    actor's organisation). ``since``: the day the first step's clock starts when a rule counts from an event
    (a change of legal basis, SYS Art. 13), not from the opening."""
    ctype = engine.case_type(case_type)
    if initial not in ctype.initial:
        raise ValueError(f"{case_type}: a case is opened in {ctype.initial}, not {initial!r}")
    case = Case(
        case_type=case_type,
        subject_type=ContentType.objects.get_for_model(subject),
        subject_id=str(subject.pk),
        title=title,
        state=initial,
        applicant=actor.organisation,
        parties={name: org.pk for name, org in parties.items()},
        opened_by=actor.user,
        state_entered_on=workdays.today(),
    )
    case.save()
    case.party_organisations.set({org.pk for org in parties.values()} | {actor.organisation.pk})
    case.number = f"{ctype.prefix}{case.state_entered_on:%Y%m%d}{case.pk:06d}"
    _enter(actor, case, initial, transition=transition, label=label, comment=comment, from_state="", since=since)
    return case


def check_transition(actor: Actor, case: Case, name: str) -> engine.Transition:
    """The transition, if ``actor`` may take it on ``case`` now; else a refusal saying why."""
    t = case.type.transition(name)
    if t is None:
        raise ValidationFailed(f"办件类型没有操作 {name}", field="transition", code="unknown_transition")
    if case.state not in t.sources:
        raise Conflict(f"办件当前状态为“{case.state_label}”，不能执行“{t.label}”", code="wrong_state")
    if actor.is_system:
        return t
    if not actor.has_role(*t.roles):
        raise PermissionDenied(f"当前角色不能执行“{t.label}”", code="wrong_role")
    if actor.organisation is None or case.party(t.party) != actor.organisation.pk:
        raise PermissionDenied(f"只有本办件的办理方可以执行“{t.label}”", code="not_assigned")
    return t


@service
def transition(actor: Actor, case: Case, name: str, *, comment: str = "") -> Case:
    """Take transition ``name`` on ``case`` (any case type)."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    t = check_transition(actor, case, name)
    comment = (comment or "").strip()
    if t.needs_comment and not comment:
        raise ValidationFailed(f"“{t.label}”须说明理由", field="comment", code="reason_required")
    _enter(actor, case, t.target, transition=t.name, label=t.label, comment=comment, from_state=case.state)
    return case


def available_transitions(actor: Actor, case: Case) -> list[engine.Transition]:
    allowed = []
    for t in case.type.available(case.state):
        try:
            check_transition(actor, case, t.name)
        except (PermissionDenied, Conflict, ValidationFailed):
            continue
        allowed.append(t)
    return allowed


@service
def raise_overdue_cases(actor: Actor) -> list[Case]:
    """Scheduled: tell the bureau about every case past its deadline (once per step)."""
    from core.selectors import bureau_for

    permissions.require(actor, "workflow.raise_overdue_cases")

    from .selectors import overdue

    raised = []
    due = overdue(Case.objects.select_for_update(of=("self",)).filter(overdue_raised_at=None))
    for case in due.select_related("assignee__region", "applicant__region"):
        region = (case.assignee or case.applicant).region
        bureau = bureau_for(region)
        if bureau is not None:
            notify(
                organisation=bureau,
                kind="overdue",
                message=f"逾期：{case.title}（{case.state_label}）应于 {due_label(case)} 前由 {case.assignee or '—'} 办理",
                link=f"/cases/{case.number}/",
            )
        case.overdue_raised_at = timezone.now()
        case.save(update_fields=["overdue_raised_at", "updated_at"])
        record(actor, "workflow.raise_overdue", case, detail={
            "due_on": case.due_on, **({"due_at": case.due_at} if case.due_at else {}), "state": case.state, "rule": case.deadline_rule,
            "bureau": bureau.pk if bureau else None,
        })
        raised.append(case)
    return raised
