import re

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from .actor import act_as, new_request_id, request_id_var
from .errors import PermissionDenied
from .models import Membership

_REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{8,32}$")
SESSION_ORG = "acting_organisation_id"


class RequestIdMiddleware:
    """Every request gets an id; it is stamped on each audit event the request causes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _REQUEST_ID.match(incoming) else new_request_id()
        token = request_id_var.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request.request_id
        return response


def actor_for_session(request):
    user = request.user
    if not user.is_authenticated:
        return None
    wanted = request.session.get(SESSION_ORG)
    if wanted is None:
        wanted = Membership.objects.filter(user=user).order_by("pk").values_list("organisation_id", flat=True).first()
        if wanted is None:
            return None
    try:
        return act_as(user, wanted, channel="web", request_id=request.request_id)
    except PermissionDenied:
        request.session.pop(SESSION_ORG, None)
        return None


class ActingOrganisationMiddleware:
    """``request.actor``: the signed-in user acting for the organisation chosen in the session."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.actor = actor_for_session(request)
        return self.get_response(request)


class TwoFactorRequiredMiddleware:
    """Administrators (settings.GONGSHU_2FA_ROLES) must pass a TOTP check before anything else (P3)."""

    OPEN_PREFIXES = ("/static/", "/i18n/", "/api/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        actor = getattr(request, "actor", None)
        if (
            actor is not None
            and actor.has_role(*settings.GONGSHU_2FA_ROLES)
            and not request.user.is_verified()
            and not request.path.startswith(self.OPEN_PREFIXES)
            and request.path not in {reverse("otp"), reverse("logout")}
        ):
            return redirect(f"{reverse('otp')}?next={request.get_full_path()}")
        return self.get_response(request)
