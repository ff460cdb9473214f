"""The one lifecycle of an entitlement: grant, suspend, resume, narrow, revoke, expire, terminate. Each
change is checked against where the entitlement stands, audited, and told to the holder. Who may change what
is the owning kind's decision (``access.calls.Kind``): its misuse control suspends; revocation before the end
is a case the bureau reviews (``access.cases``), asked for by whom the kind allows."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from audit.services import record, service
from core.selectors import bureau_for
from core.services import notify
from foundation import rulebook
from foundation.actor import Actor
from foundation.errors import Conflict, PermissionDenied, ValidationFailed
from workflow.models import Case
from workflow.services import open_case

from . import calls
from .models import Entitlement, Revocation

Status = Entitlement.Status

# from -> the statuses a change may lead to
MOVES: dict[str, tuple[str, ...]] = {
    Status.ACTIVE: (Status.SUSPENDED, Status.REVOKED, Status.EXPIRED, Status.TERMINATED),
    Status.SUSPENDED: (Status.ACTIVE, Status.REVOKED, Status.EXPIRED, Status.TERMINATED),
}
VERBS = {Status.ACTIVE: "resume", Status.SUSPENDED: "suspend", Status.REVOKED: "revoke", Status.EXPIRED: "expire",
         Status.TERMINATED: "terminate"}


def default_quota() -> dict[str, int]:
    """The daily quota a new entitlement gets unless its grant says otherwise (0: none of that kind)."""
    return {"quota_calls": int(rulebook.value("access.quota_calls")), "quota_rows": int(rulebook.value("access.quota_rows")),
            "quota_bytes": int(rulebook.value("access.quota_bytes"))}


def grant(actor: Actor, model: type[Entitlement], *, action: str, notice: str, link: str, detail: dict | None = None,
          **fields) -> Entitlement:
    """A new entitlement in force (``model``: the owning kind's proxy, e.g. sharing's Grant), audited as
    ``action`` (with ``detail`` beside what was granted) and told to the holder with ``notice`` (the
    reference and the end date are appended)."""
    if not fields.get("items"):
        raise ValidationFailed("授权至少包含一个数据项", field="items")
    if fields["valid_until"] < fields["valid_from"]:
        raise ValidationFailed("到期日期早于生效日期", field="valid_until")
    fields = {**default_quota(), **fields}
    with transaction.atomic():
        entitlement = model.objects.create(**fields)
        record(actor, action, entitlement, after={"ref": entitlement.ref, "holder": entitlement.holder_id,
                                                   "items": entitlement.items, "rows": entitlement.row_filter,
                                                   "method": entitlement.method, "valid_until": entitlement.valid_until,
                                                   "quota": [entitlement.quota_calls, entitlement.quota_rows, entitlement.quota_bytes],
                                                   **(detail or {})})
        _tell(entitlement, f"{notice}：授权 {entitlement.ref}，有效期至 {entitlement.valid_until}", link.format(ref=entitlement.ref))
    return entitlement


def change(actor: Actor, entitlement: Entitlement, to: str, *, reason: str, action: str, link: str = "",
           detail: dict | None = None, notice: str = "") -> Entitlement:
    """Move ``entitlement`` to status ``to`` with its reason (suspend, resume, revoke, expire, terminate):
    refused unless the move is allowed from where it stands; audited as ``action`` (with ``detail``); told
    to the holder (``notice``, or the status and the reason)."""
    if not (reason or "").strip():
        raise ValidationFailed("请说明原因", field="reason")
    with transaction.atomic():
        locked = type(entitlement).objects.select_for_update().select_related("resource").get(pk=entitlement.pk)
        if to not in MOVES.get(locked.status, ()):
            raise Conflict(f"授权{locked.get_status_display()}，不能{Status(to).label}", code="grant_closed"
                           if locked.status in Entitlement.CLOSED else "wrong_status")
        before = locked.status
        locked.status, locked.status_reason = to, reason.strip()
        locked.save(update_fields=["status", "status_reason", "updated_at"])
        record(actor, action, locked, before={"status": before}, after={"status": to},
               detail={"reason": locked.status_reason, **(detail or {})})
        word = "已恢复" if to == Status.ACTIVE else locked.get_status_display()
        _tell(locked, notice or f"授权 {locked.ref}（{locked.resource.name}）{word}：{locked.status_reason}", link.format(ref=locked.ref))
    entitlement.status, entitlement.status_reason = locked.status, locked.status_reason
    return entitlement


def narrow(actor: Actor, entitlement: Entitlement, *, withdrawn: list[str], reason: str, action: str, link: str = "",
           detail: dict | None = None, notice: str = "") -> Entitlement:
    """Take items out of ``entitlement`` (a re-grade it may no longer cover, G1); with none left it is
    terminated. Audited as ``action`` with the items before and after, and told to the holder."""
    with transaction.atomic():
        locked = type(entitlement).objects.select_for_update().get(pk=entitlement.pk)
        if locked.status in Entitlement.CLOSED:
            raise Conflict(f"授权{locked.get_status_display()}，不能调整数据项", code="grant_closed")
        before = {"items": locked.items, "status": locked.status}
        locked.items = [c for c in locked.items if c not in withdrawn]
        if not locked.items:
            locked.status, locked.status_reason = Status.TERMINATED, reason
        locked.save(update_fields=["items", "status", "status_reason", "updated_at"])
        record(actor, action, locked, before=before, after={"items": locked.items, "status": locked.status},
               detail={"reason": reason, **(detail or {})})
        _tell(locked, notice or f"授权 {locked.ref}：{reason}", link.format(ref=locked.ref))
    entitlement.items, entitlement.status, entitlement.status_reason = locked.items, locked.status, locked.status_reason
    return entitlement


def expire_due(actor: Actor, model: type[Entitlement], *, action: str, today: dt.date, link: str = "") -> int:
    """Scheduled: every entitlement past its end date becomes expired (each audited and told)."""
    due = model.objects.filter(status__in=(Status.ACTIVE, Status.SUSPENDED), valid_until__lt=today)
    count = 0
    for entitlement in due:
        change(actor, entitlement, Status.EXPIRED, reason=f"使用期限已于 {entitlement.valid_until} 届满", action=action, link=link)
        count += 1
    return count


def _tell(entitlement: Entitlement, message: str, link: str) -> None:
    if entitlement.holder_id:
        notify(organisation=entitlement.holder, kind="share", message=message, link=link)
    elif entitlement.holder_person_id:
        notify(user=entitlement.holder_person, kind="share", message=message, link=link)


# --- revocation before the end: a case the bureau reviews ---------------------------------------------


@service
def request_revocation(actor: Actor, entitlement: Entitlement, *, reason: str) -> Revocation:
    """Ask the bureau of the provider's region to revoke ``entitlement`` before its end: only whom the kind
    allows (a share grant: its provider, or that bureau), with a reason, once at a time, while it is not
    closed. The holder is told now; its access stays until the bureau decides."""
    kind = calls.kind_of(entitlement)
    entitlement = type(entitlement).objects.select_for_update().select_related("resource__provider__region").get(pk=entitlement.pk)
    if not kind.may_revoke(actor, entitlement):
        raise PermissionDenied("只有数据提供部门或主管部门可以申请撤销授权", code="not_provider")
    if not (reason or "").strip():
        raise ValidationFailed("请说明撤销原因", field="reason")
    if entitlement.status in Entitlement.CLOSED:
        raise Conflict(f"授权{entitlement.get_status_display()}，无需撤销", code="grant_closed")
    if entitlement.revocations.filter(case__closed_at__isnull=True).exists():
        raise Conflict("该授权已有待审核的撤销申请", code="revocation_pending")
    provider = entitlement.resource.provider
    revocation = Revocation.objects.create(entitlement=entitlement, reason=reason.strip(), requested_by=actor.user)
    parties = {"bureau": bureau_for(provider.region), "provider": provider}
    if entitlement.holder_id:
        parties["holder"] = entitlement.holder
    revocation.case = open_case(actor, case_type="revocation", subject=revocation,
                                title=f"撤销授权：{entitlement.ref}（{entitlement.resource.name}）", parties=parties,
                                initial="bureau_review", label="申请撤销", comment=revocation.reason)
    revocation.save(update_fields=["case"])
    _tell(entitlement, f"授权 {entitlement.ref}（{entitlement.resource.name}）被申请撤销：{revocation.reason}；"
                       f"主管部门审核前授权继续有效（{revocation.case.number}）", f"/cases/{revocation.case.number}/")
    return revocation


def revoke_from_case(actor: Actor, case: Case) -> None:
    """Hook: the bureau approved the revocation — the entitlement is revoked (one closed meanwhile stays)."""
    revocation = Revocation.objects.select_related("entitlement").get(pk=case.subject_id)
    entitlement = calls.as_kind(revocation.entitlement)
    if entitlement.status in Entitlement.CLOSED:
        return
    kind = calls.kind_of(entitlement)
    change(actor, entitlement, Status.REVOKED, reason=revocation.reason, action=kind.revoke_action, link=kind.link,
           detail={"case": case.number})
