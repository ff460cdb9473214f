"""The HTTP API under /api/v1/: token auth, one error shape ``{"code", "message", "field"}``."""

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer

from core.auth import TokenAuth
from core.errors import GongshuError, NotAuthenticated


class UTF8Renderer(JSONRenderer):
    json_dumps_params = {"ensure_ascii": False}  # Chinese stays readable on the wire


api = NinjaAPI(
    renderer=UTF8Renderer(),
    title="公数 Gongshu API",
    version="1",
    description="城市公共数据平台：目录、汇聚、共享、开放、授权运营、登记、交易、安全与监督。",
    auth=TokenAuth(),
    urls_namespace="api-1",
)


def _error(request, status: int, code: str, message: str, field: str | None = None):
    return api.create_response(request, {"code": code, "message": message, "field": field}, status=status)


@api.exception_handler(GongshuError)
def _gongshu_error(request, exc: GongshuError):
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
def _not_found(request, exc):
    return _error(request, 404, "not_found", "对象不存在")


@api.exception_handler(ObjectDoesNotExist)
def _does_not_exist(request, exc):
    return _error(request, 404, "not_found", "对象不存在")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return _error(request, exc.status_code, "http_error", str(exc))


def _routers():
    from catalog.api import router as catalog_router
    from audit.api import router as audit_router
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
