"""The audit vocabulary: every action an event may record, each with its Chinese label (issue 13, SEC1).

Each app declares its own actions in ``<app>/actions.py``, imported from its ``AppConfig.ready()``::

    declare({"catalog.submit_resource": "提交目录审核", ...})

``audit.services.record`` refuses any other name before it writes anything: a name typed only at the call
site is a programming error (``UndeclaredAction``), not a refusal of the user's act. The check is one dict
lookup on the hot path. A *family* names actions built from another declaration, e.g. the case engine's
``workflow.<case type>.<transition>``: its lister is asked when a name is first missed, so case types
registered by later apps (or by a test) are covered without declaring each transition twice.

This module imports nothing above the standard library: the chain must not depend on the apps it audits.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping

NAME = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)+$")  # <app>.<act>, lower-case, dot-separated
_CJK = re.compile(r"[\u4e00-\u9fff]")

_labels: dict[str, str] = {}
_families: dict[str, Callable[[], Mapping[str, str]]] = {}
_lock = threading.Lock()


class UndeclaredAction(ValueError):
    """An event was to be recorded under a name no app declared (a bug in the caller, not bad input)."""


def _add(action: str, text: str, *, origin: str) -> None:
    if not isinstance(action, str) or not NAME.match(action):
        raise ValueError(f"{origin}: audit action {action!r} is not a dotted lower-case name such as 'catalog.submit_resource'")
    if not isinstance(text, str) or not _CJK.search(text):
        raise ValueError(f"{origin}: audit action {action!r} needs a Chinese label, not {text!r}")
    known = _labels.get(action)
    if known is not None and known != text.strip():
        raise ValueError(f"{origin}: audit action {action!r} is already declared as “{known}”")
    _labels[action] = text.strip()


def declare(labels: Mapping[str, str]) -> None:
    """Declare actions (name -> Chinese label). Declaring a name again with the same label is harmless;
    with another label it is refused (two meanings for one name)."""
    with _lock:
        for action, text in labels.items():
            _add(action, text, origin="declare")


def declare_family(prefix: str, lister: Callable[[], Mapping[str, str]]) -> None:
    """Declare the actions named ``prefix…`` that ``lister()`` lists (name -> label) whenever it is asked.
    It is asked lazily: on the first miss of a name and by ``declared()``."""
    if not prefix.endswith(".") or not NAME.match(prefix[:-1] + ".x"):
        raise ValueError(f"declare_family: prefix {prefix!r} must be a dotted name ending in '.'")
    _families[prefix] = lister


def _expand() -> None:
    for prefix, lister in list(_families.items()):
        listed = lister()
        with _lock:
            for action, text in listed.items():
                if not action.startswith(prefix):
                    raise ValueError(f"family {prefix!r} listed {action!r}, outside its prefix")
                _add(action, text, origin=f"family {prefix!r}")


def require(action: str) -> None:
    """Nothing if ``action`` is declared, else ``UndeclaredAction``. One dict lookup when it is."""
    if action in _labels:
        return
    if isinstance(action, str) and any(action.startswith(prefix) for prefix in _families):
        _expand()
        if action in _labels:
            return
    raise UndeclaredAction(
        f"audit action {action!r} is not declared: add it, with its Chinese label, to the app's actions.py "
        f"(audit.actions.declare); nothing was recorded")


def is_declared(action: str) -> bool:
    try:
        require(action)
    except UndeclaredAction:
        return False
    return True


def label(action: str) -> str:
    """The Chinese label of ``action``; an event recorded under a name since retired shows its raw name."""
    text = _labels.get(action)
    if text is None and is_declared(action):
        text = _labels.get(action)
    return text or action


def declared() -> dict[str, str]:
    """Every declared action with its label (families listed now), sorted by name."""
    _expand()
    return dict(sorted(_labels.items()))


declare({
    "audit.checkpoint": "签发审计检查点",
})
