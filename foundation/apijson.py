"""The API's JSON: UTF-8 on the wire (Chinese stays readable), and an answer written straight into an
operation's response when the handler built it in the documented shape itself (the per-call path)."""

from django.http import HttpResponse
from ninja.renderers import JSONRenderer


class UTF8Renderer(JSONRenderer):
    json_dumps_params = {"ensure_ascii": False}


RENDERER = UTF8Renderer()


def write(request, data, response: HttpResponse) -> HttpResponse:
    """``data`` rendered into ``response`` (the operation's temporal response: its status and headers kept),
    as NinjaAPI.create_response does, without validating it against the schema again."""
    response.content = RENDERER.render(request, data, response_status=response.status_code)
    return response
