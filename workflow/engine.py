"""The one case engine: every case type is a declaration of states and transitions.

A state names the party that must act in it and the rulebook key of its deadline in working days;
a transition names the states it leaves, the state it enters, the roles that may take it and the
party whose member must take it. The engine does the rest: permission, deadline, timeline, audit,
overdue detection, notifications.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class State:
    name: str
    label: str
    party: str | None = None  # who must act now: a key of the case's parties
    deadline: str | None = None  # rulebook key, in working days from entering the state
    final: bool = False


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: tuple[str, ...]
    target: str
    roles: frozenset[str]
    party: str  # the actor must act for this party's organisation
    needs_comment: bool = False  # e.g. a refusal states its reasons (SYS Art. 27(2))


@dataclass
class CaseType:
    name: str
    label: str
    prefix: str
    states: list[State]
    transitions: list[Transition]
    # called inside the transition's transaction when a state is entered: fn(actor, case)
    on_enter: dict[str, Callable] = field(default_factory=dict)

    def __post_init__(self):
        self._states = {s.name: s for s in self.states}
        self._transitions = {t.name: t for t in self.transitions}
        for t in self.transitions:
            unknown = (set(t.sources) | {t.target}) - set(self._states)
            if unknown:
                raise ValueError(f"{self.name}.{t.name}: unknown states {unknown}")

    def state(self, name: str) -> State:
        return self._states[name]

    def transition(self, name: str) -> Transition | None:
        return self._transitions.get(name)

    def available(self, state: str) -> list[Transition]:
        return [t for t in self.transitions if state in t.sources]


_REGISTRY: dict[str, CaseType] = {}


def register(case_type: CaseType) -> CaseType:
    _REGISTRY[case_type.name] = case_type
    return case_type


def case_type(name: str) -> CaseType:
    return _REGISTRY[name]


def case_types() -> list[CaseType]:
    return list(_REGISTRY.values())
