"""Writes of sharing: share requests opened and decided on the workflow engine, grants created and
revoked, and every call on a grant checked, run through the warehouse query path and counted."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from audit.services import record, record_refusal, service
from catalog.models import Resource
from core import permissions, rulebook
from core.actor import Actor
from core.errors import Conflict, GongshuError, NotFound, PermissionDenied, ValidationFailed, refuse_if
from core.selectors import bureau_for
from core.services import notify
from core.workdays import add_months
from warehouse import query
from workflow.models import Case
from workflow.services import open_case

from .models import Grant, Method, RefusedCall, ShareRequest

OPEN_STATES = ("bureau_review", "provider_review")


def _shareable_items(resource: Resource) -> dict[str, str]:
    """Items that may leave the provider at all: core data stays in the trusted environment."""
    return {
        i.column: i.name for i in resource.items.select_related("published_grade")
        if not (i.published_grade and i.published_grade.access == "sandbox_only")
    }


def _check_request(actor: Actor, resource: Resource, *, scenario: str, basis: str, method: str, items: list[str],
                   valid_until: dt.date, row_filter: dict) -> dict:
    errors: dict[str, list[str]] = {}
    if resource.published_version is None:
        raise Conflict("目录尚未发布，不能申请共享", field="resource", code="unpublished")
    if resource.share_type == Resource.ShareType.NOT_SHARED:
        raise Conflict(f"该目录为不予共享类（{resource.legal_basis or '依法不予共享'}），不能申请共享", field="resource",
                       code="not_shared")
    if resource.provider_id == actor.organisation.pk:
        raise Conflict("本部门的数据无需申请共享", field="resource", code="own_data")
    if not (scenario or "").strip():
        errors.setdefault("scenario", []).append("请写明应用场景")
    if not (basis or "").strip():
        errors.setdefault("basis", []).append("请写明履职依据（法律法规或职责）")
    offered = resource.share_methods or list(Method.values)
    if method not in Method.values or method not in offered:
        errors.setdefault("method", []).append(f"共享方式须为目录提供的方式之一：{'、'.join(str(Method(m).label) for m in offered)}")
    shareable = _shareable_items(resource)
    if not items:
        errors.setdefault("items", []).append("请选择数据项")
    else:
        unknown = [c for c in items if c not in shareable]
        if unknown:
            errors.setdefault("items", []).append(f"这些数据项不存在或不能共享：{'、'.join(unknown)}")
    today = timezone.localdate()
    longest = add_months(today, int(rulebook.value("share.grant_months")))
    if valid_until is None or not today < valid_until <= longest:
        errors.setdefault("valid_until", []).append((f"使用期限须晚于今天且不超过 {longest}（{rulebook.rule('share.grant_months').article}）"))
    columns = {i.column for i in resource.items.all()}
    for column, values in (row_filter or {}).items():
        if column not in columns or not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            errors.setdefault("row_filter", []).append("数据范围须为“数据项 → 取值列表”")
    refuse_if(errors)
    return {"scenario": scenario.strip(), "basis": basis.strip(), "method": method, "items": list(dict.fromkeys(items)),
            "valid_until": valid_until, "row_filter": row_filter or {}}


@service
def request_share(actor: Actor, resource: Resource, *, scenario: str, basis: str, method: str, items: list[str],
                  valid_until: dt.date, row_filter: dict | None = None) -> ShareRequest:
    """S3: an agency applies for data. Unconditional entries go to the bureau, conditional ones to the
    provider; a not-shared entry cannot be applied for."""
    permissions.require(actor, "share.request", organisation=actor.organisation)
    fields = _check_request(actor, resource, scenario=scenario, basis=basis, method=method, items=items,
                            valid_until=valid_until, row_filter=row_filter or {})
    if ShareRequest.objects.filter(resource=resource, applicant=actor.organisation, case__state__in=OPEN_STATES).exists():
        raise Conflict("本部门对该目录已有待审核的申请", field="resource", code="duplicate_request")
    bureau = bureau_for(resource.provider.region)
    request = ShareRequest.objects.create(resource=resource, applicant=actor.organisation, requested_by=actor.user,
                                          share_type=resource.share_type, **fields)
    unconditional = resource.share_type == Resource.ShareType.UNCONDITIONAL
    request.case = open_case(
        actor, case_type="share_request", subject=request, title=f"{actor.organisation.name}申请共享“{resource.name}”",
        parties={"applicant": actor.organisation, "provider": resource.provider, "bureau": bureau},
        initial="bureau_review" if unconditional else "provider_review", comment=fields["scenario"],
    )
    request.save(update_fields=["case"])
    return request


def grant_from_case(actor: Actor, case: Case) -> Grant:
    """Hook: the case reached "granted" — the applicant gets a grant for what it asked, no more."""
    request = ShareRequest.objects.select_related("resource").get(pk=case.subject_id)
    grant = Grant.objects.create(
        request=request, resource=request.resource, holder=request.applicant, items=request.items,
        row_filter=request.row_filter, method=request.method, purpose=request.scenario,
        valid_from=timezone.localdate(), valid_until=request.valid_until,
    )
    record(actor, "sharing.grant", grant, after={"ref": grant.ref, "holder": grant.holder_id, "items": grant.items,
                                                 "rows": grant.row_filter, "method": grant.method,
                                                 "valid_until": grant.valid_until})
    notify(organisation=request.applicant, kind="share",
           message=f"共享申请 {case.number} 已通过：授权 {grant.ref}，有效期至 {grant.valid_until}", link=f"/share/grants/{grant.ref}/")
    return grant


def tell_applicant(actor: Actor, case: Case) -> None:
    notify(organisation_id=case.parties["applicant"], kind="share", message=f"共享申请 {case.number}：{case.state_label}",
           link=f"/cases/{case.number}/")


@service
def revoke_grant(actor: Actor, grant: Grant, *, reason: str) -> Grant:
    """The provider (or the bureau of its region) withdraws a grant; calls stop at once."""
    grant = Grant.objects.select_for_update().select_related("resource__provider").get(pk=grant.pk)
    if not (actor.organisation and actor.organisation.pk == grant.resource.provider_id and actor.has_role(*_PROVIDER_ROLES)) \
            and not permissions.can(actor, "catalog.review", organisation=grant.resource.provider):
        raise PermissionDenied("只有数据提供部门或主管部门可以撤销授权", code="not_provider")
    if not (reason or "").strip():
        raise ValidationFailed("请说明撤销原因", field="reason")
    if grant.status in (Grant.Status.REVOKED, Grant.Status.TERMINATED):
        raise Conflict(f"授权已{grant.get_status_display()}", code="grant_closed")
    before = grant.status
    grant.status, grant.status_reason = Grant.Status.REVOKED, reason.strip()
    grant.save(update_fields=["status", "status_reason", "updated_at"])
    record(actor, "sharing.revoke_grant", grant, before={"status": before}, after={"status": grant.status},
           detail={"reason": grant.status_reason})
    notify(organisation=grant.holder, kind="share", message=f"授权 {grant.ref}（{grant.resource.name}）已撤销：{grant.status_reason}",
           link=f"/share/grants/{grant.ref}/")
    return grant


_PROVIDER_ROLES = ("data_officer", "service_centre_staff")

# --- calls (S4, S7) -------------------------------------------------------------------------


def call(actor: Actor, ref: str, *, filters: dict | None = None, sql: str | None = None, fields: list[str] | None = None,
         purpose: str | None = None, limit: int = 100, operation: str = "lookup") -> query.Result:
    """One use of a grant: checked against holder, status, period, method, items and purpose, then run
    on the warehouse query path restricted to the grant (items, rows, masking by grade). A refused call
    is counted on the grant and audited; an answered one carries the audit receipt."""
    grant = Grant.objects.select_related("resource").filter(ref=ref).first()
    if grant is None:
        raise NotFound("授权不存在", field="grant", code="no_grant")
    try:
        scope = _scope(actor, grant, fields=fields, purpose=purpose, operation=operation)
        return query.run(actor, grant.resource, scope=scope, filters=filters, sql=sql, limit=limit, channel="api")
    except GongshuError as exc:
        _count_refusal(actor, grant, exc)
        raise


def _scope(actor: Actor, grant: Grant, *, fields, purpose, operation) -> query.Scope:
    if actor.organisation is None or actor.organisation.pk != grant.holder_id:
        raise PermissionDenied("该授权不属于本部门", field="grant", code="not_holder")
    permissions.require(actor, "share.call", organisation=actor.organisation)
    if grant.status != Grant.Status.ACTIVE:
        raise PermissionDenied(f"授权{grant.get_status_display()}：{grant.status_reason}".rstrip("："), field="grant",
                               code=f"grant_{grant.status}")
    today = timezone.localdate()
    if today > grant.valid_until:
        raise PermissionDenied(f"授权已于 {grant.valid_until} 到期", field="grant", code="grant_expired")
    if today < grant.valid_from:
        raise PermissionDenied(f"授权自 {grant.valid_from} 起生效", field="grant", code="grant_not_yet")
    allowed = {"lookup": (Method.API,), "query": (Method.API,), "file": (Method.FILE,), "sync": (Method.DB_SYNC,)}[operation]
    if grant.method not in allowed:
        raise PermissionDenied(f"授权的共享方式为“{Method(grant.method).label}”", field="method", code="wrong_method")
    outside = [f for f in (fields or []) if f not in grant.items]
    if outside:
        raise PermissionDenied(f"超出授权的数据项：{'、'.join(outside)}", field="fields", code="over_scope")
    if purpose is not None and purpose.strip() != grant.purpose:
        raise PermissionDenied("调用目的与授权的应用场景不符", field="purpose", code="over_purpose")
    return query.Scope("grant", grant.purpose, columns=frozenset(fields or grant.items),
                       row_filter={k: tuple(v) for k, v in grant.row_filter.items()}, grant_ref=grant.ref)


def _count_refusal(actor: Actor, grant: Grant, error: GongshuError) -> None:
    """After the refusal (nothing else was written): count it on the grant and audit it (S7)."""
    with transaction.atomic():
        event = record_refusal(actor, "sharing.call", error, grant, detail={"grant": grant.ref})
        RefusedCall.objects.create(grant=grant, organisation=actor.organisation, code=error.code or "refused",
                                   message=error.message[:300], audit_seq=event.seq)
