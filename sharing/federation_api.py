"""The federation endpoints an upper instance answers (S9). Every request is signed by a registered lower
instance (no token): catalog exchange, forwarded share requests, and forwarded calls on its grants."""

from __future__ import annotations

import datetime as dt

from ninja import Router, Schema, Status

from access.calls import declared_purpose
from catalog import selectors as catalog_selectors
from foundation.errors import NotFound

from . import federation, selectors, services
from .api import answer, lookup_filters
from .models import ShareRequest

router = Router(tags=["federation"], auth=None)


class ForwardedIn(Schema):
    resource_code: str
    scenario: str
    basis: str
    method: str
    items: list[str]
    valid_until: dt.date
    agency: str


def _state(share: ShareRequest) -> dict:
    grant = getattr(share, "grant", None)
    return {"id": share.pk, "case": share.case.number, "state": share.case.state, "due_on": share.case.due_on,
            "grant": grant.ref if grant else None}


@router.get("/catalog")
def catalog(request):
    """Published entries, for the lower instance's catalog exchange."""
    federation.authenticate_peer(request)
    entries = catalog_selectors.published().select_related("provider").order_by("code")
    return {"entries": [{
        "code": r.code, "name": r.name, "provider": r.provider.name, "share_type": r.share_type, "share_methods": r.share_methods,
        "items": [{"column": i.column, "name": i.name} for i in r.items.order_by("position")],
    } for r in entries]}


@router.post("/requests", response={201: dict})
def forwarded_request(request, payload: ForwardedIn):
    """A share request forwarded by a lower instance for one of its agencies: a case here, like any other."""
    peer, actor = federation.authenticate_peer(request)
    resource = catalog_selectors.published().filter(code=payload.resource_code).first()
    if resource is None:
        raise NotFound("没有这个目录", field="resource_code")
    share = services.request_share(actor, resource, scenario=federation.forwarded_scenario(payload.scenario, payload.agency, peer),
                                   basis=payload.basis, method=payload.method, items=payload.items, valid_until=payload.valid_until)
    return Status(201, _state(share))


@router.get("/requests/{request_id}")
def forwarded_state(request, request_id: int):
    peer, _ = federation.authenticate_peer(request)
    share = selectors.requests_of(peer.organisation).filter(pk=request_id).first()
    if share is None:
        raise NotFound("没有这个申请")
    return _state(share)


@router.get("/grants/{ref}/records")
def forwarded_call(request, ref: str):
    """A call on a grant this lower instance holds: the one query path, logged here, answered with a receipt.
    It declares the purpose (the agency's scenario) and the key, as every lookup does."""
    peer, actor = federation.authenticate_peer(request)
    purpose = federation.forwarded_scenario(declared_purpose(request.GET.get("purpose")), request.GET.get(federation.AGENCY, "")[:100], peer)
    filters = lookup_filters(actor, ref, request.GET, exclude=frozenset({federation.AGENCY}))
    return answer(ref, services.call(actor, ref, filters=filters, purpose=purpose, operation="lookup"))
