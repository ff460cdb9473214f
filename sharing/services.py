"""Writes of sharing: share requests opened and decided on the workflow engine, grants created and
revoked, and every call on a grant checked, run through the warehouse query path and counted."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from access import calls, misuse
from access import services as entitlements
from audit.services import record, service
from catalog.models import Resource
from foundation import permissions, rulebook
from core import workdays
from foundation.actor import Actor
from foundation.errors import Conflict, GongshuError, NotFound, PermissionDenied, ValidationFailed, refuse_if
from core.models import Organisation
from core.selectors import bureau_for, city_of
from core.services import notify
from core.workdays import add_months, add_workdays
from grading.models import Grade
from warehouse import query
from workflow.models import Case
from workflow.services import open_case, transition

from .cases import PROVIDER, PROVIDER_APPROVALS
from .models import (Correction, Demand, Dispute, Grant, Method, OnwardProvision, Rectification, Reevaluation,
                     ShareRequest, UseReport)

OPEN_STATES = ("bureau_review", "provider_review", "provider_approval")
FILE_METHODS = (Method.FILE, Method.DB_SYNC)  # the data leaves the platform whole: the grade's export rule applies


# --- grade protections on sharing (G1, SYS Art. 11) ---------------------------------------------
# Each rule reads the grade in force of each item (``published_grade``) on every path that grants or
# delivers: the request (who must approve it), the decision that grants (again, as grades may have changed
# meanwhile), a re-grade reaching existing grants (``receivers``), and every file delivery or database sync.


def _grades(resource: Resource) -> dict[str, Grade | None]:
    return {i.column: i.published_grade for i in resource.items.select_related("published_grade")}


def _shareable_items(resource: Resource) -> dict[str, str]:
    """Items that may leave the provider at all: core data stays in the trusted environment."""
    return {
        i.column: i.name for i in resource.items.select_related("published_grade")
        if not (i.published_grade and i.published_grade.access == Grade.Access.SANDBOX_ONLY)
    }


def _approval_reason(grade: Grade | None, method: str) -> str:
    if grade is None:
        return ""
    if grade.access == Grade.Access.GRANT_WITH_APPROVAL:
        return f"{grade.name}，{grade.get_access_display()}"
    if method in FILE_METHODS and grade.export == Grade.Export.APPROVAL:
        return f"{grade.name}，{grade.get_export_display()}"
    return ""


def approval_reasons(resource: Resource, items: list[str], method: str) -> list[str]:
    """Why the provider must approve a request itself, whatever the entry's share type: an item whose grade
    is used only with the provider's approval (important data: ``grant_with_approval``), or a file or
    database-sync delivery of an item whose grade is exported only with approval (``export: approval``).
    Empty when the share type alone decides who reviews."""
    grades = _grades(resource)
    return [f"{column}（{reason}）" for column in items if (reason := _approval_reason(grades.get(column), method))]


def provider_approved(case: Case | None) -> bool:
    """The provider took an approving decision on this share request (its timeline holds the step)."""
    return case is not None and case.steps.filter(transition__in=PROVIDER_APPROVALS).exists()


def export_approved(grant: Grant) -> bool:
    """Export of an ``export: approval`` item is approved when the provider approved the request that
    named the items and the method (file or database sync) — the provider's decision on a conditional
    entry, or its approval before the bureau's review on an unconditional one. A grant passed on to a third
    party with the provider's consent is no wider than the holder's own; backflow grants are API only."""
    if grant.kind == Grant.Kind.REQUEST:
        request = ShareRequest.objects.filter(grant=grant).select_related("case").first()
        return request is not None and provider_approved(request.case)
    if grant.kind == Grant.Kind.ONWARD:
        onward = OnwardProvision.objects.select_related("grant__request__case").filter(derived=grant).first()
        return onward is not None and export_approved(onward.grant)
    return False


def exportable_items(grant: Grant) -> list[str]:
    """The granted items a file delivery or database sync may carry (G1 ``export``): never an item whose
    grade prohibits export; an item exported only with approval when the export was approved (above).
    Read from the grades in force at each delivery, so a re-grade reaches existing grants."""
    grades = _grades(grant.resource)
    approved = None
    allowed = []
    for column in grant.items:
        rule = grades[column].export if grades.get(column) else Grade.Export.ALLOWED
        if rule == Grade.Export.PROHIBITED:
            continue
        if rule == Grade.Export.APPROVAL:
            approved = export_approved(grant) if approved is None else approved
            if not approved:
                continue
        allowed.append(column)
    return allowed


def longest_until(today: dt.date | None = None) -> dt.date:
    """The latest end a grant may have from ``today`` (rule share.grant_months, SYS Art. 27): the default
    the forms offer too."""
    return add_months(today or workdays.today(), int(rulebook.value("share.grant_months")))


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
        if method in FILE_METHODS:
            grades = _grades(resource)
            prohibited = [c for c in items if grades.get(c) and grades[c].export == Grade.Export.PROHIBITED]
            if prohibited:
                errors.setdefault("items", []).append(f"这些数据项的分级禁止导出，只能以接口方式共享：{'、'.join(prohibited)}")
    today = workdays.today()
    longest = longest_until(today)
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
    provider; a not-shared entry cannot be applied for. When an item's grade asks for the provider's
    approval (G1, see ``approval_reasons``), an unconditional request is approved by the provider first and
    then reviewed by the bureau."""
    permissions.require(actor, "sharing.request_share", organisation=actor.organisation)
    fields = _check_request(actor, resource, scenario=scenario, basis=basis, method=method, items=items,
                            valid_until=valid_until, row_filter=row_filter or {})
    if ShareRequest.objects.filter(resource=resource, applicant=actor.organisation, case__state__in=OPEN_STATES).exists():
        raise Conflict("本部门对该目录已有待审核的申请", field="resource", code="duplicate_request")
    bureau = bureau_for(resource.provider.region)
    request = ShareRequest.objects.create(resource=resource, applicant=actor.organisation, requested_by=actor.user,
                                          share_type=resource.share_type, **fields)
    if resource.share_type != Resource.ShareType.UNCONDITIONAL:
        initial = "provider_review"  # SYS Art. 27(2)
    elif approval_reasons(resource, fields["items"], fields["method"]):
        initial = "provider_approval"  # G1: the provider approves before the bureau reviews (SYS Art. 11, 27(1))
    else:
        initial = "bureau_review"  # SYS Art. 27(1)
    request.case = open_case(
        actor, case_type="share_request", subject=request, title=f"{actor.organisation.name}申请共享“{resource.name}”",
        parties={"applicant": actor.organisation, "provider": resource.provider, "bureau": bureau},
        initial=initial, comment=fields["scenario"],
    )
    request.save(update_fields=["case"])
    return request


def grant_from_case(actor: Actor, case: Case) -> Grant:
    """Hook: the case reached "granted" — the applicant gets a grant for what it asked, no more. The grades
    in force decide again here (an item may have been re-graded while the request waited): core data is
    never granted, and what needs the provider's approval is not granted on the bureau's approval alone."""
    request = ShareRequest.objects.select_related("resource").get(pk=case.subject_id)
    blocked = [c for c in request.items if c not in _shareable_items(request.resource)]
    if blocked:
        raise Conflict(f"这些数据项仅可在可信环境内使用，不能共享：{'、'.join(blocked)}", field="items", code="sandbox_only")
    reasons = approval_reasons(request.resource, request.items, request.method)
    if reasons and not provider_approved(case):
        raise Conflict(f"须先经数据提供部门审批：{'、'.join(reasons)}（请转提供部门审批）", field="items",
                       code="provider_approval_required")
    grant = entitlements.grant(actor, Grant, action="sharing.grant", notice=f"共享申请 {case.number} 已通过", link=Grant.LINK,
                               origin=Grant.Kind.REQUEST, resource=request.resource, holder=request.applicant, items=request.items,
                               row_filter=request.row_filter, method=request.method, purpose=request.scenario,
                               valid_from=workdays.today(), valid_until=request.valid_until)
    request.grant = grant
    request.save(update_fields=["grant", "updated_at"])
    return grant


def may_revoke(actor: Actor, grant: Grant) -> bool:
    """Who may ask the bureau to revoke a grant before its end: the provider's data officer, or the bureau
    over the provider's region."""
    provider = grant.resource.provider
    return (actor.organisation is not None and actor.organisation.pk == provider.pk and actor.has_role(*PROVIDER)) \
        or permissions.can(actor, "sharing.revoke_grant", organisation=provider)


def revoke_grant(actor: Actor, grant: Grant, *, reason: str):
    """The provider (or the bureau of its region) asks to withdraw a grant before its end: a revocation case
    the bureau reviews (``access.cases``); the holder keeps its access until then."""
    return entitlements.request_revocation(actor, grant, reason=reason)


# --- calls (S4, S7) -------------------------------------------------------------------------


def call(actor: Actor, ref: str, *, filters: dict | None = None, sql: str | None = None, fields: list[str] | None = None,
         purpose: str | None = None, limit: int = 100, operation: str = "lookup") -> query.Result:
    """One use of a grant, on the one access path (``access.calls``): holder, status, period, method, items,
    purpose and quota checked, then the warehouse query path restricted to the grant (items, rows, masking
    by grade). A refused call is counted on the grant and audited; an answered one carries the audit receipt.
    ``operation``: lookup or query (API), file or sync (the whole granted view, delivered as a file or for a
    database sync)."""
    return calls.call(actor, ref, purpose=purpose, filters=filters, sql=sql, fields=fields, limit=limit, operation=operation)


def _watched():
    """The grants misuse control looks at: in force, or expired (for use after the end), none under rectification."""
    open_cases = Rectification.objects.filter(case__closed_at__isnull=True)
    return Grant.objects.filter(status__in=(Grant.Status.ACTIVE, Grant.Status.EXPIRED)).exclude(rectifications__in=open_cases) \
        .select_related("resource__provider__region", "holder")


def _on_misuse(grant: Grant, finding: misuse.Finding) -> None:
    _open_rectification(_monitor(grant), grant, finding.reason, finding.detail)


SHARE_GRANTS = calls.register(calls.Kind(
    origins=tuple(Grant.Kind.values), model=Grant, permission="sharing.call", action="sharing.call",
    export_items=exportable_items, may_revoke=may_revoke, revoke_action="sharing.revoke_grant", link=Grant.LINK,
    misuse="share", watched=_watched, on_misuse=_on_misuse))


# --- corrections (S5) -------------------------------------------------------------------------


@service
def raise_correction(actor: Actor, resource: Resource, *, key: dict[str, str], column: str, claimed_value: str,
                     reason: str, source: str) -> Correction:
    """S5: a person disputes data about itself (its citizen ID is the record's key), an organisation data
    about itself (its USCC), or an agency using the data reports a mismatch found by cross-checking."""
    from warehouse.services import current_record

    if source not in Correction.Source.values:
        raise ValidationFailed("来源须为本人、本单位或比对核查", field="source")
    key = {k: str(v).strip().upper() if isinstance(v, str) else str(v) for k, v in (key or {}).items()}
    key_items = {i.column: i.sensitivity for i in resource.items.filter(is_key=True)}
    identity = {Correction.Source.PERSON: ("citizen_id", actor.user.citizen_id if actor.user else None),
                Correction.Source.ORGANISATION: ("uscc", actor.organisation.uscc if actor.organisation else None)}
    if source in identity:
        kind, own = identity[source]
        if list(key_items.values()) != [kind] or not own or list(key.values()) != [own]:
            raise PermissionDenied("只能对有关本人（本单位）的数据提出校核", field="key", code="not_about_you")
    elif not (Grant.objects.filter(resource=resource, holder=actor.organisation, status=Grant.Status.ACTIVE).exists()
              or permissions.can(actor, "sharing.raise_correction", organisation=resource.provider)):
        raise PermissionDenied("比对核查发现的问题，由使用该数据的部门或主管部门提出", field="source", code="no_grant")
    errors: dict[str, list[str]] = {}
    items = {i.column: i.name for i in resource.items.all()}
    if column not in items or column in key_items:
        errors.setdefault("column", []).append("请选择要更正的数据项（主键不能更正）")
    if not (claimed_value or "").strip():
        errors.setdefault("claimed_value", []).append("请写明正确的内容")
    if not (reason or "").strip():
        errors.setdefault("reason", []).append("请说明理由或依据")
    refuse_if(errors)
    if current_record(resource, key) is None:
        raise NotFound("当前数据中没有这条记录", field="key", code="no_record")
    correction = Correction.objects.create(
        resource=resource, source=source, key=key, column=column, claimed_value=claimed_value.strip(), reason=reason.strip(),
        raised_by=actor.user, raised_for=actor.organisation,
    )
    correction.case = open_case(
        actor, case_type="correction", subject=correction, title=f"校核纠错：{resource.name}·{items[column]}",
        parties={"applicant": actor.organisation, "provider": resource.provider}, initial="verifying",
        comment=correction.reason,
    )
    correction.save(update_fields=["case"])
    return correction


def apply_correction(actor: Actor, case: Case) -> None:
    """Hook: the provider verified the claim — the corrected record becomes a new snapshot, traceable to the case."""
    from warehouse.services import correct_record

    correction = Correction.objects.select_related("resource").get(pk=case.subject_id)
    correction.batch = correct_record(actor, correction.resource, correction.key, {correction.column: correction.claimed_value},
                                      reference=case.number)
    correction.save(update_fields=["batch", "updated_at"])


# --- misuse control (S7) ----------------------------------------------------------------------



def _monitor(grant: Grant) -> Actor:
    return machine_monitor(grant.resource.provider)


def expire_grants(actor: Actor, today: dt.date | None = None) -> int:
    """Scheduled: every grant past its end date is expired on the access path (audited, the holder told)."""
    permissions.require(actor, "sharing.expire_grants")
    return entitlements.expire_due(actor, Grant, action="sharing.expire_grant",
                                   today=today or workdays.today(), link=Grant.LINK)


def review_grant_use(now: dt.datetime | None = None) -> dict[str, int]:
    """Scheduled (S7): every grant in force is looked at; misuse opens a rectification with a deadline;
    a rectification past its deadline suspends the grant, and after the further period terminates it."""
    from warehouse import usage

    usage.catch_up()
    now = now or timezone.now()
    today = timezone.localdate(now)
    counts = {"opened": misuse.review(now), "suspended": 0, "terminated": 0}  # every kind's findings (sharing's open cases)
    open_cases = Rectification.objects.filter(case__closed_at__isnull=True)
    for rectification in open_cases.select_related("grant__resource__provider__region", "case"):
        case, grant = rectification.case, rectification.grant
        if rectification.suspended_on is None and case.state == "rectifying" and case.due_on and case.due_on < today:
            _suspend(_monitor(grant), rectification, today)
            counts["suspended"] += 1
        elif rectification.suspended_on and add_workdays(rectification.suspended_on, rulebook.deadline("share.suspend_then_terminate")) < today:
            transition(_monitor(grant), case, "terminate", comment="暂停后仍未完成整改，终止数据使用权限")
            counts["terminated"] += 1
    return counts


@service
def _open_rectification(actor: Actor, grant: Grant, reason: str, detail: str) -> Rectification:
    rectification = Rectification.objects.create(grant=grant, reason=reason, detail=detail)
    rectification.case = open_case(
        actor, case_type="rectification", subject=rectification, title=f"限期整改：{grant.holder.name}·{grant.resource.name}（{grant.ref}）",
        parties={"holder": grant.holder, "provider": grant.resource.provider, "bureau": actor.organisation},
        initial="rectifying", label="督促整改", comment=detail,
    )
    rectification.save(update_fields=["case"])
    return rectification


@service
def _suspend(actor: Actor, rectification: Rectification, today: dt.date) -> None:
    grant = rectification.grant
    if grant.status != Grant.Status.ACTIVE:  # expired meanwhile: nothing left to suspend
        return
    number = rectification.case.number
    entitlements.change(actor, grant, Grant.Status.SUSPENDED, reason=f"逾期未整改（{number}）", action="sharing.suspend_grant",
                        detail={"case": number, "rule": "share.rectify"}, link=f"/cases/{number}/",
                        notice=f"授权 {grant.ref} 因逾期未整改已暂停使用，请尽快完成整改")
    rectification.suspended_on = today
    rectification.save(update_fields=["suspended_on", "updated_at"])


def end_rectification(actor: Actor, case: Case) -> None:
    """Hook: rectified — a grant suspended for it is in force again."""
    rectification = Rectification.objects.select_related("grant").get(pk=case.subject_id)
    grant, message, link = rectification.grant, f"整改 {case.number} 已通过", f"/cases/{case.number}/"
    if grant.status == Grant.Status.SUSPENDED:
        entitlements.change(actor, grant, Grant.Status.ACTIVE, reason=message, action="sharing.resume_grant",
                            detail={"case": case.number}, link=link, notice=f"{message}，授权 {grant.ref} 恢复使用")
    else:
        notify(organisation=grant.holder, kind="share", message=message, link=link)


def terminate_for_rectification(actor: Actor, case: Case) -> None:
    """Hook: not rectified after the suspension — the grant ends (one already closed stays as it is)."""
    grant = Rectification.objects.select_related("grant").get(pk=case.subject_id).grant
    if grant.status in Grant.CLOSED:
        return
    reason = f"逾期未整改，终止使用（{case.number}）"
    entitlements.change(actor, grant, Grant.Status.TERMINATED, reason=reason, action="sharing.terminate_grant",
                        detail={"case": case.number, "rule": "share.suspend_then_terminate"}, link=f"/cases/{case.number}/",
                        notice=reason)


# --- demands (S8) -----------------------------------------------------------------------------


@service
def raise_demand(actor: Actor, *, provider: Organisation, data: str, scenario: str, basis: str,
                 resource: Resource | None = None) -> Demand:
    """S8: an agency names the provider, the data, the scenario and the basis; the provider answers."""
    permissions.require(actor, "sharing.raise_demand", organisation=actor.organisation)
    errors: dict[str, list[str]] = {}
    for name, value in (("data", data), ("scenario", scenario), ("basis", basis)):
        if not (value or "").strip():
            errors.setdefault(name, []).append("必填")
    if provider is None or provider.kind not in ("agency", "utility", "service_centre"):
        errors.setdefault("provider", []).append("请选择提供数据的公共管理和服务机构")
    elif provider.pk == actor.organisation.pk:
        errors.setdefault("provider", []).append("不能向本部门提出需求")
    elif city_of(provider.region) != city_of(actor.organisation.region):
        errors.setdefault("provider", []).append("其他城市的数据请经跨层级共享提出（SYS Art. 34）")
    if resource is not None and provider is not None and resource.provider_id != provider.pk:
        errors.setdefault("resource", []).append("该目录不属于所选提供部门")
    refuse_if(errors)
    demand = Demand.objects.create(applicant=actor.organisation, provider=provider, resource=resource, data=data.strip(),
                                   scenario=scenario.strip(), basis=basis.strip(), requested_by=actor.user)
    demand.case = open_case(actor, case_type="demand", subject=demand, title=f"数据需求：{actor.organisation.name}→{provider.name}",
                            parties={"applicant": actor.organisation, "provider": provider}, initial="answering",
                            comment=demand.scenario)
    demand.save(update_fields=["case"])
    return demand


@service
def fulfil_demand(actor: Actor, demand: Demand, resource: Resource) -> Demand:
    """The provider names the entry it published for the demand; the case closes if its data is mounted."""
    demand = Demand.objects.select_for_update().get(pk=demand.pk)
    demand.resource = resource
    demand.save(update_fields=["resource", "updated_at"])
    transition(actor, demand.case, "fulfil", comment=f"已发布目录 {resource.code} 并挂载数据")
    return demand


def check_fulfilled(actor: Actor, case: Case) -> None:
    """Hook: a demand is fulfilled only by a published entry of the provider with data mounted (C6)."""
    demand = Demand.objects.select_related("resource").get(pk=case.subject_id)
    resource = demand.resource
    if resource is None or resource.provider_id != demand.provider_id:
        raise Conflict("请先指定本部门为该需求发布的目录", field="resource", code="no_resource")
    if resource.published_version is None or resource.mounted_at is None:
        raise Conflict("目录须已发布且已挂载数据", field="resource", code="not_mounted")


# --- disputes (S6) ----------------------------------------------------------------------------


@service
def raise_dispute(actor: Actor, resource: Resource, *, subject: str, detail: str) -> Dispute:
    """S6: a user of data (or an applicant refused) disputes with the provider; negotiation comes first."""
    permissions.require(actor, "sharing.raise_dispute", organisation=actor.organisation)
    errors: dict[str, list[str]] = {}
    if not (subject or "").strip():
        errors.setdefault("subject", []).append("请写明争议事项")
    if not (detail or "").strip():
        errors.setdefault("detail", []).append("请说明情况")
    refuse_if(errors)
    if resource.provider_id == actor.organisation.pk:
        raise Conflict("不能与本部门发生共享争议", field="resource", code="own_data")
    dispute = Dispute.objects.create(applicant=actor.organisation, provider=resource.provider, resource=resource,
                                     subject=subject.strip(), detail=detail.strip())
    city_bureau = bureau_for(city_of(actor.organisation.region))
    dispute.case = open_case(
        actor, case_type="dispute", subject=dispute, title=f"共享争议：{dispute.subject}",
        parties={"applicant": actor.organisation, "provider": resource.provider,
                 "bureau": bureau_for(actor.organisation.region), "city_bureau": city_bureau},
        initial="negotiation", comment=dispute.detail,
    )
    dispute.save(update_fields=["case"])
    return dispute


# --- backflow (A7) ----------------------------------------------------------------------------


@service
def backflow(actor: Actor, resource: Resource) -> Grant:
    """A7: a body of a county or district receives the city-level data about its region, without extra
    conditions: a grant created by rule, limited to the rows of its region, with no review. SYS Art. 30
    sets it without conditions, so no approval by grade is asked; core data still stays in the trusted
    environment, and the grant is API only (no export)."""
    permissions.require(actor, "sharing.backflow", organisation=actor.organisation)
    spec = rulebook.current().backflow or {}
    region = actor.organisation.region
    provider_region = resource.provider.region
    if resource.published_version is None or resource.share_type == Resource.ShareType.NOT_SHARED:
        raise Conflict("该目录未发布或不予共享", field="resource", code="not_shared")
    if region.pk == provider_region.pk or not region.path.startswith(provider_region.path):
        raise PermissionDenied("数据回流只面向数据所在区域的下级单位", field="resource", code="not_below")
    column = next((i.column for i in resource.items.all() if i.column in spec.get("region_columns", [])), None)
    if column is None:
        raise Conflict("该目录没有标明行政区划的数据项，不能按区域回流", field="resource", code="no_region_column")
    existing = Grant.objects.filter(origin=Grant.Kind.BACKFLOW, resource=resource, holder=actor.organisation,
                                    status=Grant.Status.ACTIVE, valid_until__gte=workdays.today()).first()
    if existing:
        return existing
    codes = sorted(r.code for r in type(region).objects.filter(path__startswith=region.path))
    today = workdays.today()
    grant = entitlements.grant(
        actor, Grant, action="sharing.backflow", notice="数据回流已开通", link=Grant.LINK, detail={"backflow": column},
        origin=Grant.Kind.BACKFLOW, resource=resource, holder=actor.organisation, items=list(_shareable_items(resource)),
        row_filter={column: codes}, method=Method.API, purpose=f"数据回流（{spec.get('article', '')}）".replace("（）", ""),
        valid_from=today, valid_until=add_months(today, int(rulebook.value("backflow.grant_months"))),
    )
    return grant


# --- periodic re-evaluation of conditional entries (S1) --------------------------------------


def reevaluate_conditional_entries(today: dt.date | None = None) -> int:
    """Scheduled (S1, SYS Art. 25): a conditional entry not evaluated within the rulebook's interval
    (since its last evaluation, or its publication) gets a re-evaluation case for its provider."""
    from django.db.models import Max

    today = today or workdays.today()
    cutoff = add_months(today, -int(rulebook.value("share.conditional.reevaluate")))
    opened = 0
    entries = Resource.objects.filter(share_type=Resource.ShareType.CONDITIONAL, published_at__isnull=False) \
        .annotate(last=Max("reevaluations__created_at")).select_related("provider__region")
    for resource in entries:
        last = timezone.localdate(resource.last or resource.published_at)
        if last > cutoff or resource.reevaluations.filter(case__closed_at__isnull=True).exists():
            continue
        _open_reevaluation(machine_monitor(resource.provider), resource)
        opened += 1
    return opened


def machine_monitor(provider: Organisation) -> Actor:
    """The bureau's monitor for the provider's region (the platform acting for the bureau): a named actor
    that passes transition checks like anyone, where a transition names it."""
    from foundation.actor import platform_actor
    from foundation.roles import PLATFORM_MONITOR

    return platform_actor(PLATFORM_MONITOR, bureau_for(provider.region), channel="system")


@service
def _open_reevaluation(actor: Actor, resource: Resource) -> Reevaluation:
    evaluation = Reevaluation.objects.create(resource=resource)
    evaluation.case = open_case(actor, case_type="share_reevaluation", subject=evaluation,
                                title=f"有条件共享定期评估：{resource.name}",
                                parties={"applicant": actor.organisation, "provider": resource.provider}, initial="evaluating",
                                label="发起评估", comment=resource.share_conditions)
    evaluation.save(update_fields=["case"])
    return evaluation


def relax_from_reevaluation(actor: Actor, case) -> None:
    """Hook (S1, SYS Art. 25): the provider relaxes a conditional entry on re-evaluation. Its catalog entry
    is changed to unconditional sharing as a reviewed update (a working copy submitted for review, as any
    update): others rely on the published entry until the update is published. An entry already under
    review refuses the step, which then changes nothing."""
    from catalog.services import submit_resource, update_draft

    resource = case.subject.resource
    update_draft(actor, resource, fields={
        "share_type": Resource.ShareType.UNCONDITIONAL, "share_conditions": "",
        "change_reason": f"有条件共享定期评估 {case.number}：放宽为无条件共享",
    })
    submit_resource(actor, resource)


@service
def report_use(actor: Actor, grant: Grant, *, kind: str, text: str, on: dt.date | None = None) -> UseReport:
    """A6, SYS Art. 20: the holder reports the effect of its use of a grant's data, how it stores it, or its
    destruction (asked for on the grant's page once the grant has ended). The provider and the region's
    overseers read the reports on the grant."""
    if actor.organisation is None or actor.organisation.pk != grant.holder_id:
        raise PermissionDenied("只有授权的使用部门可以报告使用情况", code="not_holder")
    permissions.require(actor, "sharing.report_use", organisation=actor.organisation)
    on = on or workdays.today()
    errors: dict[str, list[str]] = {}
    if kind not in UseReport.Kind.values:
        errors.setdefault("kind", []).append("请选择报告类别")
    if not (text or "").strip():
        errors.setdefault("text", []).append("请写明情况")
    if on > workdays.today():
        errors.setdefault("on", []).append("日期不能晚于今天")
    refuse_if(errors)
    report = UseReport.objects.create(grant=grant, kind=kind, text=text.strip(), on=on, reported_by=actor.user)
    record(actor, "sharing.report_use", grant, after={"kind": kind, "on": on, "report": report.pk})
    return report


# --- onward provision (S7) ----------------------------------------------------------------------


@service
def ask_onward(actor: Actor, grant: Grant, *, recipient: Organisation, purpose: str, items: list[str]) -> OnwardProvision:
    """The holder asks the provider's consent to provide shared data to a third party (SYS Art. 33)."""
    if actor.organisation is None or actor.organisation.pk != grant.holder_id:
        raise PermissionDenied("只有授权的使用部门可以申请向第三方提供", code="not_holder")
    permissions.require(actor, "sharing.ask_onward", organisation=actor.organisation)
    errors: dict[str, list[str]] = {}
    if not (purpose or "").strip():
        errors.setdefault("purpose", []).append("请写明第三方的用途")
    if not items or any(i not in grant.items for i in items):
        errors.setdefault("items", []).append("只能在本授权的数据项范围内提供")
    if recipient is None or recipient.pk in (grant.holder_id, grant.resource.provider_id):
        errors.setdefault("recipient", []).append("请选择第三方")
    refuse_if(errors)
    if not grant.in_force():
        raise Conflict("授权不在有效期内", code="grant_inactive")
    onward = OnwardProvision.objects.create(grant=grant, recipient=recipient, purpose=purpose.strip(), items=list(items))
    onward.case = open_case(actor, case_type="onward_provision", subject=onward,
                            title=f"向第三方提供：{grant.resource.name} → {recipient.name}",
                            parties={"applicant": actor.organisation, "provider": grant.resource.provider},
                            initial="consenting", comment=onward.purpose)
    onward.save(update_fields=["case"])
    return onward


def grant_onward(actor: Actor, case: Case) -> Grant:
    """Hook: the provider consented — the third party gets a grant no wider than the holder's own."""
    onward = OnwardProvision.objects.select_related("grant").get(pk=case.subject_id)
    source = onward.grant
    derived = entitlements.grant(actor, Grant, action="sharing.grant", notice=f"向第三方提供 {case.number} 已同意",
                                 link=Grant.LINK, detail={"onward_from": source.ref, "consent_case": case.number},
                                 origin=Grant.Kind.ONWARD, resource=source.resource, holder=onward.recipient, items=onward.items,
                                 row_filter=source.row_filter, method=source.method, purpose=onward.purpose,
                                 valid_from=workdays.today(), valid_until=source.valid_until)
    onward.derived = derived
    onward.save(update_fields=["derived", "updated_at"])
    return derived
