"""Receipts can be checked by whoever holds one: is this event in the chain, unchanged, linked to the head?"""

from __future__ import annotations

from ninja import Router, Schema

from . import services

router = Router(tags=["audit"])


class ProofOut(Schema):
    seq: int
    hash: str
    ok: bool
    reason: str
    head_seq: int
    head_hash: str
    checkpoint: dict | None
    event: dict | None


@router.get("/events/{seq}/proof", response=ProofOut)
def prove(request, seq: int, hash: str | None = None):
    """The proof behind a receipt (`gongshu audit prove EVENT` on the command line). Only the receipt's
    own organisation, or one that may view the audit trail, sees the event's details."""
    proof = services.prove(seq, hash)
    if proof.event and not services.may_see_event(request.actor, seq):
        proof.event = None
    return proof
