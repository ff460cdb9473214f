import datetime as dt

from ninja import Router, Schema

from foundation.errors import NotFound

from . import selectors, services
from .models import Case

router = Router(tags=["cases"])


class StepOut(Schema):
    transition: str
    label: str
    from_state: str
    to_state: str
    actor_name: str
    organisation: str | None
    comment: str
    at: dt.datetime
    due_on: dt.date | None
    due_at: dt.datetime | None = None
    audit_seq: int | None

    @staticmethod
    def resolve_organisation(obj):
        return obj.organisation.name if obj.organisation else None


class CaseOut(Schema):
    number: str
    case_type: str
    title: str
    state: str
    state_label: str
    applicant: str
    assignee: str | None
    due_on: dt.date | None
    due_at: dt.datetime | None = None  # an hour deadline's moment (due_on then holds its date)
    deadline_rule: str
    closed_at: dt.datetime | None
    steps: list[StepOut]
    actions: list[str] = []

    @staticmethod
    def resolve_applicant(obj):
        return obj.applicant.name

    @staticmethod
    def resolve_assignee(obj):
        return obj.assignee.name if obj.assignee else None

    @staticmethod
    def resolve_steps(obj):
        return list(obj.steps.select_related("organisation"))


class TransitionIn(Schema):
    name: str
    comment: str = ""


def _access(actor, number: str) -> Case:
    case = selectors.restrict(actor).filter(number=number).first()
    if case is None:
        raise NotFound("办件不存在或无权查看", field="case")
    return case


def _out(actor, case: Case) -> Case:
    case.actions = [t.name for t in services.available_transitions(actor, case)]
    return case


@router.get("", response=list[CaseOut])
def list_cases(request, queue: bool = False, overdue: bool = False):
    actor = request.actor
    qs = selectors.queue(actor) if queue else selectors.restrict(actor)
    if overdue:
        qs = qs.filter(pk__in=selectors.overdue().values("pk"))
    return [_out(actor, c) for c in qs.select_related("applicant", "assignee")[:200]]


@router.get("/{number}", response=CaseOut)
def get_case(request, number: str):
    return _out(request.actor, _access(request.actor, number))


@router.post("/{number}/transitions", response=CaseOut)
def take_transition(request, number: str, payload: TransitionIn):
    case = services.transition(request.actor, _access(request.actor, number), payload.name, comment=payload.comment)
    return _out(request.actor, case)
