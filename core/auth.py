"""API token authentication for Django Ninja: the token's organisation is the acting organisation."""

from django.utils import timezone
from ninja.security import HttpBearer

from audit.services import record_refusal

from .actor import act_as, system_actor
from .errors import GongshuError, PermissionDenied
from .services import authenticate_token

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class TokenAuth(HttpBearer):
    """``Authorization: Bearer gs_<prefix>_<secret>``. Writes need the ``write`` scope; an operation that
    only reads but takes a body (a query) is declared with ``reads=True``."""

    def __init__(self, *, reads: bool = False):
        super().__init__()
        self.reads = reads

    def authenticate(self, request, token):
        try:
            api_token = authenticate_token(token)
            if not self.reads and request.method not in SAFE_METHODS and "write" not in api_token.scopes:
                raise PermissionDenied("令牌只有只读权限", code="token_scope")
            request.actor = act_as(api_token.user, api_token.organisation_id, channel="api", request_id=getattr(request, "request_id", ""))
        except GongshuError as exc:
            prefix = token.split("_")[1] if token.count("_") >= 2 else ""
            record_refusal(system_actor("api"), "core.authenticate_token", exc, ("core.apitoken", prefix))
            raise
        type(api_token).objects.filter(pk=api_token.pk).update(last_used_at=timezone.now())
        return api_token
