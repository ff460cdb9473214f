"""What every view shares: the acting actor, and refusals shown as pages or form errors."""

from __future__ import annotations

from django.shortcuts import render

from .actor import Actor
from .errors import GongshuError, NotAuthenticated, ValidationFailed


def submit(request, form, action):
    """Run ``action()`` (a service call) for a valid form: a refusal by field goes on the form, any other
    refusal becomes a message; the service's result, or None if it refused."""
    from django.contrib import messages

    try:
        return action()
    except ValidationFailed as exc:
        apply_errors(form, exc)
    except GongshuError as exc:
        messages.error(request, exc.message)
    return None


def date_input(**attrs):
    """A form's date picker: ``<input type="date">`` takes only an ISO date as its value, whatever the
    language's own date format (zh-Hans renders ``2010/01/01``, which the browser drops: the field came back
    empty on every edit)."""
    from django import forms

    return forms.DateInput(attrs={"type": "date", **attrs}, format="%Y-%m-%d")


def actor_of(request) -> Actor:
    actor = getattr(request, "actor", None)
    if actor is None:
        raise NotAuthenticated("您的账户尚未加入任何组织，请联系管理员", code="no_membership")
    return actor


def apply_errors(form, exc: ValidationFailed, formset=None) -> None:
    """Put a service's field errors on the form (and on ``items.N.field`` rows of a formset)."""
    for field, messages in exc.errors.items():
        for message in messages:
            if field.startswith("items.") and formset is not None:
                _, index, sub = (field.split(".") + ["", ""])[:3]
                forms = [f for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
                target = forms[int(index)] if index.isdigit() and int(index) < len(forms) else None
                if target is not None and sub in target.fields:
                    target.add_error(sub, message)
                    continue
                formset._non_form_errors = formset.non_form_errors() + [message]
            elif field in form.fields:
                form.add_error(field, message)
            else:
                form.add_error(None, message)


class GongshuErrorMiddleware:
    """A refusal that reaches a page becomes an error page with the right status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, GongshuError) and not request.path.startswith("/api/"):
            return render(request, "core/error.html", {"error": exception}, status=exception.status)
        return None


