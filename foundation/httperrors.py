"""Errors that no view answers itself, each in its surface's shape: ``{"code", "message", "field"}`` JSON
under /api/v1/, CKAN's envelope under /api/3/, a plain zh-Hans page elsewhere. No page or body carries
the request's own text or a traceback."""

from __future__ import annotations

import re

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.template import loader

API_PREFIX = "/api/v1/"
CKAN_PREFIX = "/api/3/"

# status -> (code, message); the codes are foundation.errors' own where one exists
STATUSES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求格式不正确"),
    401: ("not_authenticated", "需要有效的 API 令牌"),
    403: ("forbidden", "无权执行此操作"),
    404: ("not_found", "对象不存在"),
    405: ("method_not_allowed", "该地址不支持此请求方法"),
    409: ("conflict", "与对象的当前状态冲突"),
    413: ("too_large", "请求体过大"),
    422: ("invalid", "输入无效"),
    429: ("rate_limited", "请求过于频繁，请稍后再试"),
    500: ("server_error", "服务器内部错误，已记录，请稍后再试"),
    503: ("engine_busy", "查询引擎繁忙，请稍后再试"),
}
_CKAN_TYPES = {400: "Validation Error", 403: "Authorization Error", 404: "Not Found Error", 413: "Validation Error"}

# Ids are 64-bit integers (SQLite INTEGER, PostgreSQL bigint); a bigger one cannot name a row.
INT64_MAX = 2**63 - 1
_DIGITS = re.compile(r"^[+-]?\d+$")
# A value that is no number, as the ORM (IntegerField et al.) and int() word it: the value is the repr at the end.
_NOT_A_NUMBER = re.compile(r"^(?:Field '\w+' expected a number but got (.*)\.|invalid literal for int\(\) with base 10: (.*))$",
                           re.S)


def error_body(status: int, *, code: str | None = None, message: str | None = None, field: str | None = None) -> dict:
    default_code, default_message = STATUSES.get(status, (f"http_{status}", "请求无法完成"))
    return {"code": code or default_code, "message": message or default_message, "field": field}


def json_error(status: int, **kwargs) -> JsonResponse:
    return JsonResponse(error_body(status, **kwargs), status=status, json_dumps_params={"ensure_ascii": False})


def is_json(response) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


def _out_of_range(value: str) -> bool:
    return bool(_DIGITS.match(value)) and abs(int(value)) > INT64_MAX


def bad_id(request, exc: Exception) -> tuple[int, str | None] | None:
    """An id the database cannot hold (OverflowError) or that is no number (the ValueError of the ORM or
    of ``int()``): (404, None) if it is in the path (no such object), (422, the parameter) if it came in the
    query or the form. None for any other exception, and when the request did not send the value: that
    one is a bug, not bad input."""
    if isinstance(exc, OverflowError):
        culprit = _out_of_range
    elif isinstance(exc, ValueError) and (match := _NOT_A_NUMBER.match(str(exc))):
        culprit = lambda value, bad=match.group(1) or match.group(2): repr(value) == bad  # noqa: E731
    else:
        return None
    if any(culprit(segment) for segment in request.path.split("/")):
        return 404, None
    for params in (request.GET, getattr(request, "_post", None) or {}):
        for name, values in params.lists():
            if any(culprit(v) for v in values):
                return 422, name
    return None


def _page(request, status: int, template: str) -> HttpResponse:
    context = {"status": status}
    if status >= 500:  # without the request's context processors: they may be what failed
        return HttpResponse(loader.get_template(template).render(context), status=status)
    return HttpResponse(loader.get_template(template).render(context, request), status=status)


def respond(request, status: int) -> HttpResponse:
    """``status`` in the request's surface: API JSON, CKAN's envelope or a page."""
    if request.path.startswith(API_PREFIX):
        return json_error(status)
    if request.path.startswith(CKAN_PREFIX):
        error = {"__type": _CKAN_TYPES.get(status, "Internal Server Error"), "message": STATUSES[status][1]}
        return JsonResponse({"success": False, "error": error}, status=status, json_dumps_params={"ensure_ascii": False})
    return _page(request, status, {404: "404.html", 500: "500.html", 403: "403.html"}.get(status, "400.html"))


# Django's error handlers (gongshu/urls.py handler400 ... handler500).


def bad_request(request, exception=None):
    return respond(request, 413 if isinstance(exception, RequestDataTooBig) else 400)


def permission_denied(request, exception=None):
    return respond(request, 403)


def page_not_found(request, exception=None):
    return respond(request, 404)


def server_error(request):
    return respond(request, 500)
