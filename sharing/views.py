import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from catalog import selectors as catalog_selectors
from core import selectors as core_selectors
from core import workdays
from foundation import permissions
from foundation.errors import GongshuError, PermissionDenied, ValidationFailed
from foundation.viewkit import actor_of, date_input, submit

from . import selectors, services
from .models import Method


class RequestForm(forms.Form):
    scenario = forms.CharField(label="应用场景", max_length=200)
    basis = forms.CharField(label="履职依据", widget=forms.Textarea(attrs={"rows": 2}))
    method = forms.ChoiceField(label="共享方式")
    items = forms.MultipleChoiceField(label="申请数据项", widget=forms.CheckboxSelectMultiple)
    valid_until = forms.DateField(label="使用期限至", widget=date_input())

    def __init__(self, resource, *args, **kwargs):
        super().__init__(*args, **kwargs)
        offered = resource.share_methods or list(Method.values)
        self.fields["method"].choices = [(m, Method(m).label) for m in offered]
        self.fields["items"].choices = [(c, f"{n}（{c}）") for c, n in services._shareable_items(resource).items()]
        self.fields["valid_until"].initial = services.longest_until()


@login_required
def request_share(request, resource_id: int):
    """S3: the request wizard, opened from a catalog entry."""
    actor = actor_of(request)
    resource = catalog_selectors.access_resource(actor, resource_id)
    form = RequestForm(resource, request.POST or None)
    if request.method == "POST" and form.is_valid():
        share = submit(request, form, lambda: services.request_share(actor, resource, **form.cleaned_data))
        if share:
            messages.success(request, _("已提交共享申请，办理期限至 %(due)s") % {"due": share.case.due_on})
            return redirect("workflow:detail", number=share.case.number)
    return render(request, "sharing/request.html", {"resource": resource, "form": form})


@login_required
def overview(request):
    """Requests and grants of the acting organisation; for the bureau the sharing dashboard of its region."""
    actor = actor_of(request)
    board = selectors.dashboard(actor)
    return render(request, "sharing/overview.html", {
        "board": board, "requests": selectors.requests_for(actor)[:100],
        "oversight": permissions.can(actor, "sharing.view_region", organisation=actor.organisation),
    })


def _ask_onward(request, actor, grant):
    """S7: the holder asks the provider's consent to provide the data to a third party."""
    recipient = request.POST.get("recipient", "")
    onward = services.ask_onward(actor, grant, recipient=core_selectors.active_organisation(int(recipient)) if recipient.isdigit() else None,
                                 purpose=request.POST.get("purpose", ""), items=request.POST.getlist("items"))
    messages.success(request, _("已报提供部门同意：%(case)s") % {"case": onward.case.number})
    return redirect("workflow:detail", number=onward.case.number)


def _report_use(request, actor, grant):
    """A6, SYS Art. 20: the holder reports the effect, storage or destruction of the data it obtained."""
    try:
        on = dt.date.fromisoformat(request.POST.get("on") or workdays.today().isoformat())
    except ValueError:
        raise ValidationFailed("日期无效", field="on") from None
    services.report_use(actor, grant, kind=request.POST.get("kind", ""), text=request.POST.get("text", ""), on=on)
    messages.success(request, _("已报告"))
    return redirect("sharing:grant", ref=grant.ref)


def _revoke(request, actor, grant):
    revocation = services.revoke_grant(actor, grant, reason=request.POST.get("reason", ""))
    messages.success(request, _("撤销申请已提交主管部门审核（%(case)s），审核前授权继续有效") % {"case": revocation.case.number})
    return redirect("sharing:grant", ref=grant.ref)


_GRANT_ACTIONS = {"onward": _ask_onward, "report": _report_use, "revoke": _revoke}


@login_required
def grant_detail(request, ref: str):
    """A grant: its terms and use; for its holder a lookup, use reports and onward provision; for the
    provider and the bureau a revocation request. Each form posts its ``action``."""
    actor = actor_of(request)
    grant = selectors.access_grant(actor, ref)
    holder = actor.organisation.pk == grant.holder_id
    items = list(grant.resource.items.all())
    labels = {item.column: item.name for item in items}
    keys = [item for item in items if item.is_key and item.column in grant.items]
    answer = None
    action = request.POST.get("action", "revoke") if request.method == "POST" else None
    if action in _GRANT_ACTIONS:
        try:
            return _GRANT_ACTIONS[action](request, actor, grant)
        except GongshuError as exc:
            messages.error(request, exc.message)
            return redirect("sharing:grant", ref=ref)
    if action == "lookup":
        # S4: the holder's own lookup from the page, on the same access path as the API (checked, masked, receipted)
        column = request.POST.get("column", "")
        try:
            if column not in {item.column for item in keys}:
                raise ValidationFailed(_("请选择查询的主键"), field="column")
            answer = services.call(actor, ref, filters={column: request.POST.get("value", "").strip()},
                                   purpose=request.POST.get("purpose", ""), operation="lookup")
        except GongshuError as exc:
            messages.error(request, exc.message)
    return render(request, "sharing/grant.html", {
        "grant": grant, "stats": selectors.grant_statistics(grant), "answer": answer,
        "answer_header": [labels.get(c, c) for c in answer.columns] if answer else [],
        "can_look_up": holder and grant.status == "active" and grant.method == "api" and bool(keys), "keys": keys,
        "can_ask_onward": holder and grant.status == "active" and grant.origin != "onward"
        and permissions.can(actor, "sharing.ask_onward", organisation=actor.organisation),
        "granted_items": [(c, labels.get(c, c)) for c in grant.items],
        "recipients": [o for o in core_selectors.providers().filter(region__path__startswith=actor.organisation.region.path)
                       if o.pk not in (grant.holder_id, grant.resource.provider_id)] if holder else [],
        "can_revoke": grant.status in ("active", "suspended") and not holder,
        "can_report": holder and permissions.can(actor, "sharing.report_use", organisation=actor.organisation),
        "reports": grant.use_reports.select_related("reported_by"),
        "destruction_due": holder and grant.status in ("expired", "revoked", "terminated")
        and not grant.use_reports.filter(kind="destruction").exists(),
        "revocations": selectors.revocations_of(grant),
    })


class CorrectionForm(forms.Form):
    resource = forms.ModelChoiceField(label="数据资源", queryset=None)
    key = forms.CharField(label="记录（公民身份号码或统一社会信用代码）", max_length=18)
    column = forms.ChoiceField(label="有误的数据项")
    claimed_value = forms.CharField(label="正确内容", max_length=500)
    reason = forms.CharField(label="理由或依据", widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, actor, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # entries keyed by a person's or an organisation's identifier: the ones a person can dispute
        resources = selectors.correctable_resources().prefetch_related("items")
        self.fields["resource"].queryset = resources
        # each entry's data items by their label, grouped under the entry (the record's key is not one of them)
        self.items = {r.pk: {i.column: i.name for i in r.items.all() if not i.is_key} for r in resources}
        self.fields["column"].choices = [("", "请选择")] + [
            (r.name, list(self.items[r.pk].items())) for r in resources if self.items[r.pk]]
        own = actor.user.citizen_id if actor.organisation.kind == "public" else actor.organisation.uscc
        if own:
            self.fields["key"].initial = own

    def clean(self):
        data = super().clean()
        resource, column = data.get("resource"), data.get("column")
        if resource and column and column not in self.items.get(resource.pk, {}):
            self.add_error("column", f"“{resource.name}”没有这个数据项，请在它的数据项中选择")
        return data


@login_required
def corrections(request):
    """S5: my corrections (a person's, an organisation's), and those against my data."""
    actor = actor_of(request)
    form = CorrectionForm(actor, request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        resource = data["resource"]
        key_column = resource.items.filter(is_key=True).values_list("column", flat=True).first()
        source = "person" if actor.organisation.kind == "public" else (
            "organisation" if data["key"].upper() == (actor.organisation.uscc or "") else "cross_check")
        correction = submit(request, form, lambda: services.raise_correction(
            actor, resource, key={key_column: data["key"]}, column=data["column"], claimed_value=data["claimed_value"],
            reason=data["reason"], source=source))
        if correction:
            messages.success(request, _("已提交，数据提供部门将于 %(due)s 前核实答复") % {"due": correction.case.due_on})
            return redirect("sharing:corrections")
    return render(request, "sharing/corrections.html", {"form": form, "corrections": selectors.corrections_for(actor)[:200]})


class DemandForm(forms.Form):
    provider = forms.ModelChoiceField(label="提供部门", queryset=None)
    data = forms.CharField(label="所需数据", widget=forms.Textarea(attrs={"rows": 2}))
    scenario = forms.CharField(label="应用场景", max_length=200)
    basis = forms.CharField(label="依据", widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = core_selectors.demand_providers(actor)


class DisputeForm(forms.Form):
    resource = forms.ModelChoiceField(label="数据资源", queryset=None)
    subject = forms.CharField(label="争议事项", max_length=300)
    detail = forms.CharField(label="情况说明", widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resource"].queryset = catalog_selectors.published().order_by("code")


@login_required
def new_case(request, kind: str):
    """S6, S8, A7 from the web: a demand, a dispute, or backflow of city data about one's district."""
    actor = actor_of(request)
    forms_by_kind = {"demand": DemandForm, "dispute": DisputeForm}
    if kind == "backflow":
        if request.method == "POST":
            try:
                grant = services.backflow(actor, catalog_selectors.access_resource(actor, int(request.POST.get("resource", 0))))
            except GongshuError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("数据已回流：授权 %(ref)s") % {"ref": grant.ref})
                return redirect("sharing:grant", ref=grant.ref)
        return render(request, "sharing/new.html", {"kind": kind, "resources": selectors.backflow_resources(actor)})
    if kind not in forms_by_kind:
        from foundation.errors import NotFound

        raise NotFound("没有这种办件")
    form = forms_by_kind[kind](request.POST or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        made = submit(request, form, lambda: services.raise_demand(actor, **data) if kind == "demand"
                      else services.raise_dispute(actor, data.pop("resource"), **data))
        if made:
            messages.success(request, _("已提交，办理期限至 %(due)s") % {"due": made.case.due_on})
            return redirect("workflow:detail", number=made.case.number)
    return render(request, "sharing/new.html", {"kind": kind, "form": form})


@login_required
def remote(request):
    """S9: data held at the upper level — its catalog, requests forwarded through this platform, lookups."""
    from . import federation
    from .models import RemoteRequest

    actor = actor_of(request)
    answer = None
    if request.method == "POST":
        try:
            if request.POST.get("action") == "lookup":
                remote_request = selectors.remote_requests_for(actor).get(pk=int(request.POST["remote"]))
                column, _, value = request.POST.get("key", "").partition("=")
                answer = federation.call_remote(actor, remote_request, filters={column.strip(): value.strip()})
            else:
                made = federation.forward_request(
                    actor, request.POST.get("peer", ""), resource_code=request.POST.get("resource_code", ""),
                    scenario=request.POST.get("scenario", ""), basis=request.POST.get("basis", ""), method="api",
                    items=[i.strip() for i in request.POST.get("items", "").split(",") if i.strip()],
                    valid_until=dt.date.fromisoformat(request.POST.get("valid_until") or "1970-01-01"))
                messages.success(request, _("已转报上级平台：%(case)s") % {"case": made.case_number})
                return redirect("sharing:remote")
        except (GongshuError, ValueError, RemoteRequest.DoesNotExist) as exc:
            messages.error(request, getattr(exc, "message", str(exc)))
    peers = []
    for peer in selectors.upper_peers():
        try:
            entries, problem = federation.remote_catalog(peer.name), ""
        except (GongshuError, OSError) as exc:
            entries, problem = [], getattr(exc, "message", str(exc))
        peers.append({"peer": peer, "entries": entries, "problem": problem})
    requests_made = selectors.remote_requests_for(actor).order_by("-created_at")
    for made in requests_made:
        if not made.grant_ref:
            try:
                federation.refresh(made)
            except (GongshuError, OSError):
                pass
    return render(request, "sharing/remote.html", {"peers": peers, "requests": requests_made, "answer": answer,
                                                   "default_until": services.longest_until()})


@login_required
def supervision(request):
    """The overseer's page (a supervisor, the bureau): its region's overdue cases and the misuse monitor's
    open findings, side by side."""
    from workflow import selectors as case_selectors

    actor = actor_of(request)
    if not permissions.can(actor, "sharing.view_region", organisation=actor.organisation):
        raise PermissionDenied("仅主管部门和监管人员可以查看", code="forbidden")
    overdue = list(case_selectors.overdue(case_selectors.restrict(actor))[:200])
    for case in overdue:
        case.remaining = case_selectors.remaining_workdays(case)
    return render(request, "sharing/supervision.html", {"overdue": overdue, "findings": selectors.misuse_findings(actor)[:200]})
