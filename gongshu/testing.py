"""Shared test helpers (for the tests of every app; not imported by the platform itself).

``check_permission_matrix`` runs one act for a list of cases (a demo user, the target it acts on, the
expected outcome), each in a savepoint rolled back after it, and asserts for every refusal that it is a
``PermissionDenied`` with the expected code, that nothing was written, and that it is on the audit chain
exactly when the act is a service (``audit.services.service`` audits a refusal after its rollback as
``<app>.<function>``; a check outside a service, a view's or a selector's, is not audited there: the API
layer audits a token caller's refusal, ``gongshu.api._audit_refusal``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import connection, transaction

from foundation.errors import GongshuError, PermissionDenied

ALLOWED = "allowed"
# refusal codes of the permission mechanism (foundation.permissions) and of the case engine's party check
FORBIDDEN, OTHER_ORGANISATION, OTHER_REGION, WRONG_ROLE = "forbidden", "other_organisation", "other_region", "wrong_role"

_AUDIT_TABLES = {"audit_event", "audit_chainhead"}  # where a refusal is recorded: compared by its own rule


@dataclass(frozen=True)
class Case:
    """One cell of the matrix: ``username`` (a demo user, acting for its organisation, or ``organisation``
    if given: an attribute of the ``city`` fixture) does the act on ``target``; ``expected`` is ALLOWED or the
    refusal code."""

    username: str
    target: object
    expected: str
    organisation: str | None = None

    def __str__(self) -> str:
        acting = f"@{self.organisation}" if self.organisation else ""
        return f"{self.username}{acting} on {self.target}: expected {self.expected}"


def _row_counts() -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table not in _AUDIT_TABLES:
                cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
                counts[table] = cursor.fetchone()[0]
    return counts


def _service_action(service: Callable) -> str | None:
    """The audited action of a @service (``<app>.<function>``), None for anything else."""
    from audit.services import SERVICE_ACTIONS

    inner = getattr(service, "__wrapped__", None)
    if inner is None:
        return None
    action = f"{inner.__module__.split('.')[0]}.{inner.__name__}"
    return action if action in SERVICE_ACTIONS else None


def _run(city, act: Callable, case: Case, action: str | None) -> str | None:
    """The case in a savepoint that is rolled back: None if it went as expected, else what went wrong."""
    from audit.models import Event

    with transaction.atomic():
        try:
            actor = city.actor(case.username, getattr(city, case.organisation) if case.organisation else None)
            before, last = _row_counts(), Event.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
            try:
                act(actor, case.target)
            except GongshuError as exc:
                if case.expected == ALLOWED:
                    return f"refused ({type(exc).__name__} {exc.code}: {exc.message})"
                if not isinstance(exc, PermissionDenied) or exc.code != case.expected:
                    return f"refused with {type(exc).__name__} {exc.code} ({exc.message})"
                changed = sorted(t for t, n in _row_counts().items() if n != before.get(t))
                if changed:
                    return f"refused but wrote to {', '.join(changed)}"
                events = list(Event.objects.filter(seq__gt=last).order_by("seq"))
                if action is None:
                    if events or exc.audited:
                        return f"not a service, yet audited: {[e.action for e in events]}"
                    return None
                recorded = [(e.action, e.outcome, e.data.get("error", {}).get("code")) for e in events]
                if recorded != [(action, "refused", case.expected)] or not exc.audited:
                    return f"refusal not audited once as {action}: {recorded}"
                return None
            if case.expected != ALLOWED:
                return "allowed"
            return None
        finally:
            transaction.set_rollback(True)


def check_permission_matrix(city, act: Callable, cases: Iterable[Case], *, service: Callable | None = None) -> None:
    """Run ``act(actor, target)`` for every case and fail listing each case that went otherwise than expected.

    ``service`` is the service ``act`` calls, when ``act`` is a lambda around it (by default ``act`` itself):
    its refusals must be audited once, as its action, with the refusal's code; an act that is not a service
    must leave no event."""
    action = _service_action(service or act)
    failures = [f"{case}: {problem}" for case in cases if (problem := _run(city, act, case, action)) is not None]
    assert not failures, "permission matrix:\n" + "\n".join(failures)


def signed_in(client, user):
    """``client`` signed in as ``user``, past the TOTP step for administrators (their device marked verified
    in the session, as a sign-in with a code would)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user).first()
    if device:
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()
    return client


def rulebook_with(settings, tmp_path, **rules) -> "Path":
    """The city's rulebook with ``rules`` added or replaced (key -> spec dict), in force for this test."""
    from pathlib import Path

    import yaml

    from foundation import rulebook

    data = yaml.safe_load((rulebook.RULEBOOK_DIR / "shuangyashan.yaml").read_text(encoding="utf-8"))
    data["rules"].update(rules)
    path = Path(tmp_path) / "rulebook.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    settings.GONGSHU_RULEBOOK = str(path)
    return path
