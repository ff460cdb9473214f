"""Cross-level sharing (S9, SYS Art. 34): data held by another level is requested through the upper
authority. Gongshu instances (a city, its province) exchange catalog entries, forward share requests and
forward calls over HTTP signed with each instance's Ed25519 key; stale, replayed or forged requests are
refused, and both sides log every call (the upper one on its query path, the lower one with the receipt)."""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from pathlib import Path

from django.conf import settings
from django.db import transaction

from audit.services import record, service
from foundation import permissions, signing
from foundation.actor import Actor, machine_actor
from core.signed import authenticate
from foundation.errors import NotAuthenticated, NotFound, PermissionDenied, ValidationFailed, refuse_if
from core.models import Organisation

from .models import Peer, RemoteCall, RemoteRequest

SENDER = "X-Gongshu-Peer"
AGENCY = "_agency"  # query parameter naming the lower-level agency a request is for (signed with the path)


def _key_path() -> Path:
    return Path(settings.GONGSHU_KEY_DIR) / "federation-ed25519.pem"


def public_key() -> str:
    """This instance's public key, for the peers to register (`gongshu federation key`)."""
    return signing.public_key_text(signing.load_private_key(_key_path()).public_key())


@service
def add_peer(actor: Actor, *, name: str, url: str, public_key: str, level: str, organisation: Organisation | None = None) -> Peer:
    """Register another instance: its name, address, public key, level, and (for a lower one) the
    organisation it acts as here."""
    permissions.require(actor, "sharing.add_peer", organisation=organisation)
    errors = {}
    if level not in Peer.Level.values:
        errors["level"] = ["层级须为 upper 或 lower"]
    if not signing.is_public_key(public_key):
        errors["public_key"] = ["公钥须为 Ed25519 公钥（32 字节的 base64）"]
    if level == Peer.Level.LOWER and organisation is None:
        errors["organisation"] = ["下级平台须对应本平台的一个组织"]
    if not urllib.parse.urlparse(url or "").scheme.startswith("http"):
        errors["url"] = ["地址须为 http(s) URL"]
    refuse_if(errors)
    peer, _ = Peer.objects.update_or_create(name=name, defaults={"url": url.rstrip("/"), "public_key": public_key,
                                                                 "level": level, "organisation": organisation})
    record(actor, "sharing.add_peer", peer, after={"name": name, "url": url, "level": level, "public_key": public_key})
    return peer


# --- the answering side (the upper instance) ---------------------------------------------------


def authenticate_peer(request) -> tuple[Peer, Actor]:
    """The lower peer that signed ``request`` and the actor it is here (``core.signed``); else a refusal,
    counted per client address and minute like every refusal of an unknown sender."""
    def find(name: str):
        peer = Peer.objects.select_related("organisation__region").filter(name=name, level=Peer.Level.LOWER).first()
        if peer is None:
            raise NotAuthenticated("未登记的联邦平台", code="peer_unknown")
        return peer.public_key, peer

    peer = authenticate(request, scope="peer", sender_header=SENDER, find=find, action="sharing.authenticate_peer")
    agency = request.GET.get(AGENCY, "")[:100]  # in the signed path: who at the lower level is asking
    label = f"联邦:{peer.name}" + (f"·{agency}" if agency else "")
    return peer, machine_actor(peer.organisation, label, frozenset({"federation_peer"}), channel="api",
                               request_id=getattr(request, "request_id", ""))


def forwarded_scenario(scenario: str, agency: str, peer: Peer) -> str:
    """A forwarded request's scenario as its grant here names it: the lower agency's own, with who asked
    through which instance. A forwarded call declares the agency's scenario; this is what it is checked as."""
    return f"{scenario.strip()}（{agency}，经{peer.name}）"


# --- the asking side (the lower instance) ------------------------------------------------------


def _send(peer: Peer, method: str, path: str, payload: dict | None = None, agency: str = "") -> dict:
    key = signing.load_private_key(_key_path())
    body = json.dumps(payload, ensure_ascii=False, default=str).encode() if payload is not None else b""
    if agency:
        path += ("&" if "?" in path else "?") + urllib.parse.urlencode({AGENCY: agency})
    status, answer = signing.send(peer.url, method, "/api/v1/federation" + path, key=key,
                                  sender=(SENDER, settings.GONGSHU_INSTANCE_NAME), body=body, timeout=60)
    if status >= 400:
        message = answer.get("message") or f"上级平台返回 {status}"
        raise (PermissionDenied if status in (401, 403) else ValidationFailed)(f"{peer.name}：{message}", code="peer_refused")
    return answer


def _upper(name: str) -> Peer:
    peer = Peer.objects.filter(name=name, level=Peer.Level.UPPER).first()
    if peer is None:
        raise NotFound("没有这个上级平台", field="peer", code="peer_unknown")
    return peer


def remote_catalog(peer_name: str) -> list[dict]:
    """The upper instance's published entries (catalog exchange)."""
    return _send(_upper(peer_name), "GET", "/catalog")["entries"]


@service
def forward_request(actor: Actor, peer_name: str, *, resource_code: str, scenario: str, basis: str, method: str,
                    items: list[str], valid_until: dt.date) -> RemoteRequest:
    """S9: an agency's request for data held at the upper level, forwarded through this platform."""
    permissions.require(actor, "sharing.forward_request", organisation=actor.organisation)
    peer = _upper(peer_name)
    answer = _send(peer, "POST", "/requests", {
        "resource_code": resource_code, "scenario": scenario, "basis": basis, "method": method, "items": items,
        "valid_until": valid_until.isoformat(), "agency": actor.organisation.name,
    }, agency=actor.organisation.name)
    remote = RemoteRequest.objects.create(peer=peer, applicant=actor.organisation, requested_by=actor.user,
                                          resource_code=resource_code, scenario=scenario, remote_id=answer["id"],
                                          case_number=answer["case"], state=answer["state"])
    record(actor, "sharing.forward_request", remote, after={"peer": peer.name, "case": remote.case_number,
                                                            "resource": resource_code, "items": items})
    return remote


def refresh(remote: RemoteRequest) -> RemoteRequest:
    """The forwarded request's state and grant, as the upper instance has them."""
    answer = _send(remote.peer, "GET", f"/requests/{remote.remote_id}")
    RemoteRequest.objects.filter(pk=remote.pk).update(state=answer["state"], grant_ref=answer.get("grant") or "")
    remote.refresh_from_db()
    return remote


def call_remote(actor: Actor, remote: RemoteRequest, *, filters: dict[str, str], purpose: str | None = None) -> dict:
    """A call on the upper instance's grant for this agency: forwarded signed with its declared purpose (by
    default the scenario the agency applied with), answered with the upper instance's receipt, and logged
    here with it (both sides log)."""
    permissions.require(actor, "sharing.call_remote", organisation=actor.organisation)
    if remote.applicant_id != actor.organisation.pk:
        raise PermissionDenied("该上级授权不属于本部门", field="grant", code="not_holder")
    if not remote.grant_ref:
        remote = refresh(remote)
        if not remote.grant_ref:
            raise PermissionDenied(f"上级平台尚未授权（{remote.state}）", field="grant", code="not_granted")
    purpose = (purpose or "").strip() or remote.scenario
    answer = _send(remote.peer, "GET", f"/grants/{remote.grant_ref}/records?" + urllib.parse.urlencode({**filters, "purpose": purpose}),
                   agency=actor.organisation.name)
    with transaction.atomic():
        event = record(actor, "sharing.remote_call", remote, detail={
            "peer": remote.peer.name, "grant": remote.grant_ref, "rows": len(answer["records"]),
            "remote_receipt": answer["receipt"],
        })
        RemoteCall.objects.create(request=remote, organisation=actor.organisation, user=actor.user, rows=len(answer["records"]),
                                  remote_seq=answer["receipt"]["event"], remote_hash=answer["receipt"]["hash"],
                                  audit_seq=event.seq)
    return {**answer, "local_receipt": {"event": event.seq, "hash": event.hash}}

