import datetime as dt
from typing import Literal

from ninja import Router, Schema, Status
from pydantic import Field

from foundation import identifiers, rulebook

from . import selectors, services
from foundation.errors import ValidationFailed
from .workdays import add_workdays

router = Router(tags=["core"])


class OrganisationOut(Schema):
    id: int
    name: str
    kind: str
    uscc: str | None
    region: str

    @staticmethod
    def resolve_region(obj):
        return obj.region.code


class MeOut(Schema):
    username: str
    display_name: str
    organisation: OrganisationOut
    roles: list[str]


@router.get("/me", response=MeOut)
def me(request):
    actor = request.actor
    return {
        "username": actor.user.username,
        "display_name": actor.user.display_name,
        "organisation": actor.organisation,
        "roles": sorted(actor.roles),
    }


class TokenIn(Schema):
    name: str = Field(max_length=100)
    scopes: list[str] = ["read"]
    days: int | None = None


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    expires_at: dt.datetime
    revoked_at: dt.datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="shown once; only its hash is stored")


@router.get("/tokens", response=list[TokenOut])
def list_tokens(request):
    return selectors.tokens_of(request.actor)


@router.post("/tokens", response={201: TokenCreated})
def create_token(request, payload: TokenIn):
    token, plain = services.issue_token(request.actor, name=payload.name, scopes=payload.scopes, days=payload.days)
    return Status(201, {**TokenOut.model_validate(token).model_dump(), "token": plain})


@router.delete("/tokens/{token_id}", response=TokenOut)
def revoke_token(request, token_id: int):
    token = selectors.token_of(request.actor, token_id)
    return services.revoke_token(request.actor, token=token)


class CheckOut(Schema):
    valid: bool
    reason: str | None


@router.get("/checks/uscc/{code}", response=CheckOut)
def check_uscc(request, code: str):
    problem = identifiers.uscc_problem(code)
    return {"valid": problem is None, "reason": problem}


@router.get("/checks/citizen-id/{number}", response=CheckOut)
def check_citizen_id(request, number: str):
    problem = identifiers.citizen_id_problem(number)
    return {"valid": problem is None, "reason": problem}


class WorkdayOut(Schema):
    start: dt.date
    workdays: int
    date: dt.date


@router.get("/workdays/add", response=WorkdayOut)
def workdays_add(request, start: dt.date, n: int):
    if not 0 <= n <= 3650:
        raise ValidationFailed("n 须在 0 到 3650 之间", field="n")
    return {"start": start, "workdays": n, "date": add_workdays(start, n)}


class RuleOut(Schema):
    key: str
    value: int | float | str | list[str]  # a list: a set of codes (e.g. the refusals misuse counts)
    unit: str
    article: str
    text: str
    origin: Literal["regulation", "platform_default"]  # CFG1: set by the regulation's text, or a platform default
    origin_label: str  # 法规规定 / 平台默认


@router.get("/rules", response=list[RuleOut])
def rules(request):
    return list(rulebook.current().rules.values())


@router.get("/health", auth=None)
def health(request):
    """Liveness for load balancers (and the constant baseline of the sharing bench)."""
    return {"ok": True}
