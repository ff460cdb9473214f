import base64

import segno
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from . import selectors, services
from .actor import act_as
from foundation.actor import Actor
from foundation.errors import ValidationFailed
from .forms import LoginForm, OtpForm, TokenForm
from .middleware import SESSION_ORG
from .models import ApiToken
from foundation.viewkit import actor_of, apply_errors


class LoginView(auth_views.LoginView):
    template_name = "core/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


def _safe_next(request, default="home"):
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse(default)


@login_required
def otp(request):
    """TOTP for administrators: enrol a device on first use, then verify a code each session."""
    # a signed-in user with no organisation yet enrols as themselves (as signing in is audited)
    actor = getattr(request, "actor", None) or Actor(user=request.user, organisation=None, channel="web",
                                                     request_id=getattr(request, "request_id", ""))
    device = selectors.totp_device(request.user, confirmed=True)
    enrolling = device is None
    if enrolling:
        device = services.enrol_totp_device(actor)
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        accepted = services.confirm_totp_device(actor, device=device, code=code) if enrolling else device.verify_token(code)
        if accepted:
            otp_login(request, device)
            return HttpResponseRedirect(_safe_next(request))
        form.add_error("code", "验证码不正确或已过期")
    context = {"form": form, "enrolling": enrolling, "next": request.GET.get("next", "")}
    if enrolling:
        context["secret"] = base64.b32encode(device.bin_key).decode()
        context["qr_svg"] = segno.make(device.config_url).svg_inline(scale=4)
    return render(request, "core/otp.html", context)


@login_required
@require_POST
def switch_organisation(request):
    try:
        organisation_id = int(request.POST.get("organisation", ""))
    except ValueError:
        organisation_id = -1
    act_as(request.user, organisation_id)  # refuses an organisation the user is not a member of
    request.session[SESSION_ORG] = organisation_id
    return redirect(_safe_next(request))


@login_required
def tokens(request):
    actor = actor_of(request)
    form = TokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            _, created = services.issue_token(actor, **form.cleaned_data)
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            form = TokenForm()
    rows = selectors.tokens_of(actor)
    return render(request, "core/tokens.html", {"form": form, "tokens": rows, "created": created})


@login_required
@require_POST
def revoke_token(request, token_id: int):
    actor = actor_of(request)
    token = get_object_or_404(ApiToken, pk=token_id, user=actor.user)
    services.revoke_token(actor, token=token)
    messages.success(request, f"令牌“{token.name}”已吊销")
    return redirect("tokens")


@login_required
def notifications(request):
    """The acting organisation's notifications; marked read one by one or all at once (POST)."""
    actor = actor_of(request)
    if request.method == "POST":
        one = request.POST.get("notification", "")
        services.mark_notifications_read(actor, ids=[int(one)] if one.isdigit() else None)
        return redirect("notifications")
    rows = selectors.notifications_for(actor)[:200]
    return render(request, "core/notifications.html", {"notifications": rows})
