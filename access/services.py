"""The one lifecycle of an entitlement: grant, suspend, resume, revoke, expire, terminate. Each change is
checked against where the entitlement stands, audited, and told to the holder. Who may change what is the
caller's (the owning kind's) decision: sharing's provider revokes, its misuse control suspends."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from audit.services import record
from core.services import notify
from foundation import rulebook
from foundation.actor import Actor
from foundation.errors import Conflict, ValidationFailed

from .models import Entitlement

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
