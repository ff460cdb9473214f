"""The one case engine: every case type is a declaration of states and transitions.

A state names the party that must act in it, the rulebook key of its deadline (the rule's unit says
working days or wall-clock hours) and, as a dotted path, the hook run when the state is entered; a
transition names the states it leaves, the state it enters, the roles that may take it and the party whose
member must take it. The engine does the rest: permission, deadline, timeline, audit, overdue detection,
notifications (the assignee of each step; the applicant on every final state).

Hooks are named, not imported: declaring a case type imports no services, and a service opens a case by
the type's name (``workflow.services.open_case``), so cases and services never import each other.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from django.utils.module_loading import import_string


@lru_cache(maxsize=None)
def resolve_hook(path: str) -> Callable:
    """The function a dotted path names (imported on first use, then cached)."""
    hook = import_string(path)
    if not callable(hook):
        raise TypeError(f"on_enter hook {path} is not callable")
    return hook


@dataclass(frozen=True)
class State:
    name: str
    label: str
    party: str | None = None  # who must act now: a key of the case's parties
    deadline: str | None = None  # rulebook key; its unit is "wd" (working days) or "hours" (wall clock)
    final: bool = False
    # dotted path of fn(actor, case), called inside the transition's transaction when the state is entered
    on_enter: str | None = None

    def __post_init__(self):
        if self.on_enter is not None and (not isinstance(self.on_enter, str) or "." not in self.on_enter):
            raise ValueError(f"state {self.name}: on_enter must be a dotted path, not {self.on_enter!r}")

    @property
    def hook(self) -> Callable | None:
        return resolve_hook(self.on_enter) if self.on_enter else None


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: tuple[str, ...]
    target: str
    roles: frozenset[str]
    party: str  # the actor must act for this party's organisation
    needs_comment: bool = False  # e.g. a refusal states its reasons (SYS Art. 27(2))


@dataclass(frozen=True)
class Fact:
    """One line of what a case decides, shown on its page: a label, a value and, where the reader may go
    further, a link."""

    label: str
    value: object
    link: str = ""


@dataclass
class CaseType:
    name: str
    label: str
    prefix: str
    states: list[State]
    transitions: list[Transition]
    # the states a case may be opened in; the first state when not given
    initial: tuple[str, ...] = field(default=())
    # dotted path of fn(actor, case) -> list[Fact]: what the case decides, for its page (the subject's own
    # fields when not given)
    summary: str | None = None

    def __post_init__(self):
        self._states = {s.name: s for s in self.states}
        self._transitions = {t.name: t for t in self.transitions}
        self.initial = tuple(self.initial) or (self.states[0].name,)
        for t in self.transitions:
            unknown = (set(t.sources) | {t.target}) - set(self._states)
            if unknown:
                raise ValueError(f"{self.name}.{t.name}: unknown states {unknown}")
        unknown = set(self.initial) - set(self._states)
        if unknown:
            raise ValueError(f"{self.name}: unknown initial states {unknown}")
        if self.summary is not None and "." not in self.summary:
            raise ValueError(f"{self.name}: summary must be a dotted path, not {self.summary!r}")

    def state(self, name: str) -> State:
        return self._states[name]

    def transition(self, name: str) -> Transition | None:
        return self._transitions.get(name)

    def available(self, state: str) -> list[Transition]:
        return [t for t in self.transitions if state in t.sources]

    @property
    def parties(self) -> set[str]:
        """Every party a state or a transition names: each case of the type must resolve them all."""
        return {s.party for s in self.states if s.party} | {t.party for t in self.transitions}

    def reachable(self) -> set[str]:
        """The states a case can reach from the states it may be opened in."""
        seen, todo = set(self.initial), deque(self.initial)
        while todo:
            state = todo.popleft()
            for t in self.available(state):
                if t.target not in seen:
                    seen.add(t.target)
                    todo.append(t.target)
        return seen


_REGISTRY: dict[str, CaseType] = {}


def register(case_type: CaseType) -> CaseType:
    _REGISTRY[case_type.name] = case_type
    return case_type


def case_type(name: str) -> CaseType:
    return _REGISTRY[name]


def case_types() -> list[CaseType]:
    return list(_REGISTRY.values())


# the subject's fields that say nothing to a reader of the case
_PLAIN_SKIP = {"id", "created_at", "updated_at", "case", "requested_by", "raised_by"}


def summary(actor, case) -> list[Fact]:
    """What ``case`` decides, for its page: its type's summary, or the subject's own fields by their labels."""
    ctype = case_type(case.case_type)
    if ctype.summary:
        return list(resolve_hook(ctype.summary)(actor, case))
    subject = case.subject
    if subject is None:
        return []
    facts = []
    for f in subject._meta.concrete_fields:
        if f.name in _PLAIN_SKIP or f.name.endswith("_ptr") or str(f.verbose_name) == f.name.replace("_", " "):
            continue  # internal, or no label of its own
        value = getattr(subject, f"get_{f.name}_display")() if f.choices else getattr(subject, f.name)
        if value not in (None, "", [], {}):
            facts.append(Fact(str(f.verbose_name), value))
    return facts
