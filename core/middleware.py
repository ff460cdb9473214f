import re

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from foundation import httperrors
from foundation.actor import new_request_id, request_id_var
from .actor import act_as
from foundation.errors import PermissionDenied
from .models import Membership

_REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{8,32}$")
SESSION_ORG = "acting_organisation_id"


class ErrorShapeMiddleware:
    """Every error in its surface's shape (issue 12): under /api/v1/ a response that is not JSON (Ninja's
    plain-text 405, a middleware's refusal) becomes ``{"code", "message", "field"}``; on a page an id the
    database cannot hold or that is no number is a 404 (in the path) or a 400 (in the query), not a 500."""

    KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code >= 400 and request.path.startswith(httperrors.API_PREFIX) and not httperrors.is_json(response):
            shaped = httperrors.json_error(response.status_code)
            for name in self.KEPT_HEADERS:
                if name in response:
                    shaped[name] = response[name]
            return shaped
        return response

    def process_exception(self, request, exception):
        found = httperrors.bad_id(request, exception)
        if found is None or request.path.startswith(httperrors.API_PREFIX):  # the API answers its own
            return None
        return httperrors.respond(request, 404 if found[0] == 404 else 400)


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
