"""The HTTP API under /api/v1/: token auth, one error shape ``{"code", "message", "field"}`` for every
response that is not 2xx (issue 12), documented on every operation."""

import functools
import logging

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import BaseModel

from foundation import apijson, httperrors
from core.auth import TokenAuth
from foundation.errors import GongshuError, NotAuthenticated, NotFound, PermissionDenied, ValidationFailed

from . import actions  # noqa: F401  (declares api.request, the refusal recorded below)

logger = logging.getLogger(__name__)


ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "stable machine code, e.g. invalid, forbidden, not_found"},
        "message": {"type": "string", "description": "for people (zh-Hans)"},
        "field": {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "the input at fault, if one is"},
    },
    "required": ["code", "message", "field"],
    "additionalProperties": False,
}
# Every operation may answer these (405 is a path's answer to a method it has no operation for: no operation's).
ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 422, 429, 500, 503)  # 503: engine_busy (warehouse.limits)
_ERROR_REF = {"$ref": "#/components/schemas/Error"}


class GongshuAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs):
        """Ninja's schema plus the error responses of every operation, in the one ``Error`` shape."""
        schema = super().get_openapi_schema(**kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        for operations in schema["paths"].values():
            for operation in operations.values():
                responses = operation["responses"]
                for status in ERROR_STATUSES:
                    if status == 413 and "requestBody" not in operation:
                        continue  # only a body can be too large
                    documented = responses.get(status)
                    if documented is None:
                        responses[status] = _error_response(status)
                    else:  # the operation's own answer (a rejected batch) or the error shape
                        content = documented["content"]["application/json"]
                        content["schema"] = {"anyOf": [content["schema"], _ERROR_REF]}
        return schema


def _error_response(status: int) -> dict:
    response = {"description": httperrors.STATUSES[status][1], "content": {"application/json": {"schema": _ERROR_REF}}}
    if status in (429, 503):
        response["headers"] = {"Retry-After": {"description": "秒数", "schema": {"type": "integer"}}}
    return response


api = GongshuAPI(
    renderer=apijson.RENDERER,
    title="公数 Gongshu API",
    version="1",
    description="城市公共数据平台：目录、汇聚、共享、开放、授权运营、登记、交易、安全与监督。",
    auth=TokenAuth(),
    urls_namespace="api-1",
)


def _out_of_range(value, name: str = "") -> str | None:
    """Where in ``value`` (a parameter, or a schema with its fields) an integer lies that no 64-bit column
    holds: its dotted name, or None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return name if abs(value) > httperrors.INT64_MAX else None
    if isinstance(value, BaseModel):
        children = ((key, getattr(value, key)) for key in type(value).model_fields)
    elif isinstance(value, dict):
        children = value.items()
    elif isinstance(value, (list, tuple)):
        children = enumerate(value)
    else:
        return None
    for key, child in children:
        if found := _out_of_range(child, f"{name}.{key}" if name else str(key)):
            return found
    return None


def _ids_in_range(view_func):
    """An id beyond 64 bits names no row: a 404 in the path, a 422 in the query or the body, before the
    operation runs and the same on every database (SQLite would raise OverflowError, PostgreSQL find nothing)."""

    @functools.wraps(view_func)
    def checked(request, **values):
        path_params = request.resolver_match.kwargs if request.resolver_match else {}
        for name, value in values.items():
            if name in path_params:
                if _out_of_range(value, name):
                    raise NotFound("对象不存在")
            elif found := _out_of_range(value, "" if isinstance(value, BaseModel) else name):  # a schema: its field
                raise ValidationFailed("编号超出范围", field=found)
        return view_func(request, **values)

    return checked


api.add_decorator(_ids_in_range)


def _error(request, status: int, code: str | None = None, message: str | None = None, field: str | None = None):
    body = httperrors.error_body(status, code=code, message=message, field=field)
    return api.create_response(request, body, status=status)


def _audit_refusal(request, error: GongshuError) -> None:
    """Issue 12: an authenticated caller's refusal (403 and 404 alike) is audited, once."""
    from audit.services import record_refusal

    actor = getattr(request, "actor", None)  # TokenAuth's (channel api), or a signed-in session's (web): not audited here
    by_token = actor is not None and actor.user is not None and actor.channel == "api"
    if error.status in (403, 404) and by_token and not error.audited:  # a @service or the call path audited it already
        record_refusal(actor, "api.request", error, detail={"method": request.method, "path": request.path})


@api.exception_handler(GongshuError)
def _gongshu_error(request, exc: GongshuError):
    _audit_refusal(request, exc)
    response = _error(request, exc.status, exc.code, exc.message, exc.field)
    for name, value in exc.headers.items():
        response[name] = value
    return response


@api.exception_handler(NinjaValidationError)
def _validation_error(request, exc: NinjaValidationError):
    first = exc.errors[0] if exc.errors else {}
    loc = [str(p) for p in first.get("loc", []) if p not in ("body", "query", "path", "payload")]
    return _error(request, 422, "invalid", first.get("msg", "输入无效"), ".".join(loc) or None)


@api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    return _error(request, 401, NotAuthenticated.code, "需要有效的 API 令牌")


@api.exception_handler(Http404)
@api.exception_handler(ObjectDoesNotExist)
def _not_found(request, exc):
    return _gongshu_error(request, NotFound("对象不存在"))


@api.exception_handler(DjangoPermissionDenied)
def _forbidden(request, exc):
    return _gongshu_error(request, PermissionDenied(httperrors.STATUSES[403][1]))


@api.exception_handler(RequestDataTooBig)
def _too_large(request, exc):
    return _error(request, 413, message=f"请求体过大，上限为 {settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024 // 1024} MB")


@api.exception_handler(SuspiciousOperation)
def _bad_request(request, exc):
    return _error(request, 400)


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return _error(request, exc.status_code, "http_error", str(exc))


@api.exception_handler(Exception)
def _unexpected(request, exc: Exception):
    """An id the database cannot hold is bad input (404 in the path, 422 in the query); anything else is
    a bug: logged with its traceback, answered without it."""
    found = httperrors.bad_id(request, exc)
    if found is not None:
        status, field = found
        return _gongshu_error(request, NotFound("对象不存在") if status == 404 else
                              ValidationFailed("编号超出范围或不是数字", field=field))
    logger.exception("API %s %s failed", request.method, request.path)
    return _error(request, 500)


def _routers():
    from catalog.api import router as catalog_router
    from core.audit_api import router as audit_router
    from core.api import router as core_router
    from sharing.api import router as sharing_router
    from sharing.federation_api import router as federation_router
    from warehouse.api import router as warehouse_router
    from workflow.api import router as workflow_router

    api.add_router("/", core_router)
    api.add_router("/catalog", catalog_router)
    api.add_router("/cases", workflow_router)
    api.add_router("/data", warehouse_router)
    api.add_router("/share", sharing_router)
    api.add_router("/audit", audit_router)
    api.add_router("/federation", federation_router)


_routers()


def urls():
    """The API's URL patterns grouped by their first path segment: a request tries the groups, then the
    routes of its group, instead of every route in turn (Ninja lists them flat, ~60 of them)."""
    from django.urls import include, path

    patterns, app_name, namespace = api.urls
    grouped: dict[str, list] = {}
    top: list = []
    for pattern in patterns:
        head, slash, rest = str(pattern.pattern).partition("/")
        if slash and "<" not in head:
            if head not in grouped:
                grouped[head] = []
                top.append(path(f"{head}/", include(grouped[head])))
            grouped[head].append(path(rest, pattern.callback, pattern.default_args, name=pattern.name))
        else:
            top.append(pattern)
    return top, app_name, namespace
