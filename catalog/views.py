from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core import permissions
from core.errors import Conflict, ValidationFailed
from core.viewkit import actor_of, apply_errors
from workflow import selectors as case_selectors
from workflow.models import Case

from . import selectors, services
from .forms import ItemFormSet, ResourceForm
from .models import Resource


@login_required
def catalog_list(request):
    actor = actor_of(request)
    q = request.GET.get("q", "").strip()
    resources = selectors.catalog_list(actor, q=q)[:300]
    return render(request, "catalog/list.html", {
        "resources": resources, "q": q, "can_draft": permissions.can(actor, "catalog.draft"),
    })


@login_required
def detail(request, resource_id: int):
    actor = actor_of(request)
    resource = selectors.access_resource(actor, resource_id)
    cases = Case.objects.filter(case_type__startswith="catalog_", subject_id=str(resource.pk)).order_by("-created_at")
    for case in cases:
        case.remaining = case_selectors.remaining_workdays(case)
    own = resource.provider_id == actor.organisation.pk
    return render(request, "catalog/detail.html", {
        "resource": resource,
        "items": resource.items.all(),
        "versions": resource.versions.order_by("-number"),
        "cases": cases,
        "can_edit": own and permissions.can(actor, "catalog.draft") and resource.status != Resource.Status.IN_REVIEW,
        "can_submit": own and permissions.can(actor, "catalog.submit")
        and resource.status in (Resource.Status.DRAFT, Resource.Status.RETURNED),
    })


def _items_initial(resource):
    fields = ("name", "column", "data_type", "description", "is_key", "required", "category", "grade",
              "sensitivity", "source_type", "source_agency")
    return [{f: getattr(i, f) for f in fields} for i in resource.items.select_related("category", "grade", "source_agency")]


@login_required
def edit(request, resource_id: int | None = None):
    actor = actor_of(request)
    resource = selectors.access_resource(actor, resource_id) if resource_id else None
    form = ResourceForm(request.POST or None, instance=resource)
    formset = ItemFormSet(request.POST or None, initial=_items_initial(resource) if resource else None, prefix="items")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        items = [f.cleaned_data for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        fields = {k: v for k, v in form.cleaned_data.items()}
        try:
            if resource is None:
                resource = services.draft_resource(actor, fields=fields, items=items)
            else:
                resource = services.update_draft(actor, resource, fields=fields, items=items)
        except ValidationFailed as exc:
            apply_errors(form, exc, formset)
        except Conflict as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "已保存草稿")
            return redirect("catalog:detail", resource_id=resource.pk)
    return render(request, "catalog/edit.html", {"form": form, "formset": formset, "resource": resource})


@login_required
@require_POST
def submit(request, resource_id: int):
    actor = actor_of(request)
    resource = selectors.access_resource(actor, resource_id)
    try:
        case = services.submit_resource(actor, resource)
    except ValidationFailed as exc:
        for field, msgs in exc.errors.items():
            for m in msgs:
                messages.error(request, m)
        return redirect("catalog:detail", resource_id=resource.pk)
    messages.success(request, f"已提交审核，办件编号 {case.number}，审核期限 {case.due_on}")
    return redirect("catalog:detail", resource_id=resource.pk)
