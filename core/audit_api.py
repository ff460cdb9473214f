"""Receipts can be checked by whoever holds one: is this event in the chain, unchanged, linked to the head
and to the latest signed checkpoint? The latest checkpoint itself is public, for anyone to poll and keep."""

from __future__ import annotations

from ninja import Router, Schema

from audit import checkpoints, services
from foundation.errors import NotFound

from .selectors import may_see_event

router = Router(tags=["audit"])


class ProofOut(Schema):
    seq: int
    hash: str
    prev_hash: str
    ok: bool
    reason: str
    head_seq: int
    head_hash: str
    anchored: bool
    checkpoint: dict | None
    event: dict | None


@router.get("/events/{seq}/proof", response=ProofOut)
def prove(request, seq: int, hash: str | None = None):
    """The proof behind a receipt (`gongshu audit prove EVENT` on the command line). Inclusion for every
    caller; the event's content only for its own organisation or an overseer of its region."""
    return services.prove(seq, hash, disclose=lambda event: may_see_event(request.actor, event))


@router.get("/checkpoints/latest", auth=None)
def latest_checkpoint(request):
    """The newest signed checkpoint exactly as written (verify its signature with `signer.public_key`,
    pinned once); no sign-in needed."""
    latest = checkpoints.latest()
    if latest is None:
        raise NotFound("尚无已签名的审计检查点", code="no_checkpoint")
    return latest.document
