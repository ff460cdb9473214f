from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from catalog import selectors as catalog_selectors
from foundation import permissions, textfiles
from foundation.errors import GongshuError
from foundation.viewkit import actor_of

from . import selectors, services


@login_required
def freshness_board(request):
    """A2: how fresh each entry's data is against its update frequency."""
    actor = actor_of(request)
    rows = selectors.freshness(actor)
    return render(request, "warehouse/freshness.html", {"rows": rows, "stale": sum(r.stale for r in rows)})


@login_required
def resource_data(request, resource_id: int):
    """Upload, batch history and snapshots of one entry."""
    actor = actor_of(request)
    resource = catalog_selectors.access_resource(actor, resource_id)
    selectors.access_data(actor, resource)
    if request.method == "POST" and request.POST.get("action") == "report":
        try:
            case = services.report_problem_data(actor, resource, column=request.POST.get("column", ""),
                                                message=request.POST.get("message", ""), value=request.POST.get("value", ""))
        except GongshuError as exc:
            messages.error(request, exc.message)
            return redirect("warehouse:resource", resource_id=resource.pk)
        messages.success(request, _("已分派提供部门核实更正，办理期限至 %(due)s") % {"due": case.due_on})
        return redirect("workflow:detail", number=case.number)
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, "请选择文件")
            return redirect("warehouse:resource", resource_id=resource.pk)
        try:
            batch = services.queue_upload(actor, resource, upload.chunks(), filename=upload.name, size=upload.size,
                                          encoding=request.POST.get("encoding") or None, mode=request.POST.get("mode", "full"))
        except GongshuError as exc:
            messages.error(request, exc.message)
            return redirect("warehouse:resource", resource_id=resource.pk)
        messages.success(request, _("文件已收到，正在检查"))
        return redirect("warehouse:batch", batch_id=batch.pk)
    return render(request, "warehouse/resource.html", {
        "resource": resource, "batches": selectors.batches(actor, resource)[:50],
        "snapshots": resource.snapshots.order_by("-version"),
        "can_upload": permissions.can(actor, "warehouse.ingest", organisation=resource.provider),
        "can_report": resource.provider_id != actor.organisation.pk
        and permissions.can(actor, "warehouse.assign_problem_data", organisation=resource.provider),
    })


@login_required
def upload_template(request, resource_id: int, fmt: str):
    """A file to fill in for an upload: one header row of the entry's data item names, in order (the upload
    takes names or columns), as CSV that opens in Excel or as a workbook."""
    if fmt not in ("csv", "xlsx"):
        raise Http404
    actor = actor_of(request)
    resource = catalog_selectors.access_resource(actor, resource_id)
    selectors.access_data(actor, resource)
    header = [[item.name for item in resource.items.all()]]  # in the entry's order
    if fmt == "csv":
        response = HttpResponse(textfiles.csv_bytes(header), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(textfiles.xlsx_bytes(header, sheet="数据"),
                                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f"attachment; filename=template-{resource.code or resource.pk}.{fmt}"
    return response


def _labelled(batch, issues):
    """Problem rows with their item's name and their rule's name, not the column and the rule's code."""
    from .quality import RULE_LABELS

    names = {item.column: item.name for item in batch.resource.items.all()}
    issues = list(issues)
    for issue in issues:
        issue.item_name, issue.rule_label = names.get(issue.column, issue.column), RULE_LABELS.get(issue.rule, issue.rule)
    return issues


@login_required
def batch_detail(request, batch_id: int):
    """A batch: its progress, its problem data, and for the bureau over the provider (or its service centre)
    the assignment of the problem rows to the provider (A3)."""
    actor = actor_of(request)
    batch = selectors.access_batch(actor, batch_id)
    if request.method == "POST":
        try:
            case = services.assign_problem_data(actor, batch, comment=request.POST.get("comment", ""))
        except GongshuError as exc:
            messages.error(request, exc.message)
            return redirect("warehouse:batch", batch_id=batch.pk)
        messages.success(request, _("已分派提供部门核实更正，办理期限至 %(due)s") % {"due": case.due_on})
        return redirect("workflow:detail", number=case.number)
    return render(request, "warehouse/batch.html", {
        "batch": batch, "issues": _labelled(batch, batch.issues.all()[:500]), "issue_count": batch.issues.count(),
        "can_assign": batch.issues.filter(status="open").exists() and batch.provider_id != actor.organisation.pk
        and permissions.can(actor, "warehouse.assign_problem_data", organisation=batch.provider),
    })


@login_required
def batch_report(request, batch_id: int):
    """A3: the error report — row, column, value, rule — as CSV that opens in Excel (the values are the
    provider's own bad input: formula-like text is neutralised)."""
    actor = actor_of(request)
    batch = selectors.access_batch(actor, batch_id)
    rows = [["行号", "数据项", "字段名", "值", "规则", "说明", "状态"]] + [
        [i.row, i.item_name, i.column, i.value, i.rule_label, i.message, i.get_status_display()]
        for i in _labelled(batch, batch.issues.all())
    ]
    response = HttpResponse(textfiles.csv_bytes(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f"attachment; filename=batch-{batch.pk}-errors.csv"
    return response


@login_required
def usage(request):
    """A6: usage logs, per agency."""
    actor = actor_of(request)
    return render(request, "warehouse/usage.html", {"logs": selectors.usage_logs(actor)[:300]})


@login_required
def governance(request):
    """SYS Art. 17(3): data-governance requests to the bureau — an agency's own, the bureau's region's."""
    actor = actor_of(request)
    may_request = permissions.can(actor, "warehouse.request_governance", organisation=actor.organisation)
    choices = catalog_selectors.restrict(actor).filter(published_version__isnull=False).order_by("code")
    if request.method == "POST":
        picked = [int(pk) for pk in request.POST.getlist("resources") if pk.isdigit()]
        try:
            made = services.request_governance(actor, subject=request.POST.get("subject", ""),
                                               detail=request.POST.get("detail", ""),
                                               resources=choices.filter(pk__in=picked))
        except GongshuError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("已报主管部门，答复期限至 %(due)s") % {"due": made.case.due_on})
            return redirect("workflow:detail", number=made.case.number)
    return render(request, "warehouse/governance.html", {
        "requests": selectors.governance_requests(actor)[:200], "may_request": may_request,
        "choices": catalog_selectors.in_region(actor, choices, "provider") if may_request else [],
    })
