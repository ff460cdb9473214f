"""Content-Security-Policy (SYS Art. 60; on with GONGSHU_ENV=production or GONGSHU_CSP=1): scripts, styles,
images, fonts, connections and forms from this site only, no plugins, no framing.

The templates still carry a few inline scripts (the chart helper and its calls), one inline event handler
and a few ``style`` attributes. Rather than allowing inline code at large, each of them is allowed by its
SHA-256 hash, computed once from the template files: a script injected into a page has another hash and
does not run. A template that renders a variable inside an inline script cannot be hashed and is reported
by ``inline_problems`` (tested); moving that code to a static file is the cure."""

from __future__ import annotations

import base64
import hashlib
import re
import sysconfig
from functools import lru_cache
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed

_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S | re.I)
_HANDLER = re.compile(r"\son[a-z]+=\"(?P<code>[^\"]*)\"", re.I)
_STYLE = re.compile(r"\sstyle=\"(?P<css>[^\"]*)\"", re.I)
_TAG = re.compile(r"{[{%]")


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def template_files() -> list[Path]:
    """Our templates: the project's directories and each of our apps' (not Django's or third parties')."""
    root = Path(settings.BASE_DIR).resolve()
    installed = Path(sysconfig.get_paths()["purelib"]).resolve()  # a virtualenv may live inside the project
    dirs = [Path(d) for engine in settings.TEMPLATES for d in engine.get("DIRS", [])]
    dirs += [Path(app.path) / "templates" for app in apps.get_app_configs()
             if Path(app.path).resolve().is_relative_to(root) and not Path(app.path).resolve().is_relative_to(installed)]
    return sorted(p for d in dirs if d.is_dir() for p in d.rglob("*.html"))


@lru_cache(maxsize=1)
def inline() -> tuple[frozenset[str], frozenset[str], frozenset[str], tuple[str, ...]]:
    """(script hashes, event-handler hashes, style-attribute hashes, problems) of the inline code in our templates."""
    scripts, handlers, styles, problems = set(), set(), set(), []
    for path in template_files():
        text = path.read_text(encoding="utf-8")
        for match in _SCRIPT.finditer(text):
            attrs, body = match["attrs"].lower(), match["body"]
            if "src=" in attrs or "application/json" in attrs or not body.strip():
                continue
            if _TAG.search(body):
                problems.append(f"{path.name}: an inline script renders template variables")
                continue
            scripts.add(_hash(body))
        for pattern, found in ((_HANDLER, handlers), (_STYLE, styles)):
            for match in pattern.finditer(text):
                value = match.group(1)
                if _TAG.search(value):
                    problems.append(f"{path.name}: an inline attribute renders template variables: {value[:60]}")
                else:
                    found.add(_hash(value))
    return frozenset(scripts), frozenset(handlers), frozenset(styles), tuple(problems)


def policy() -> str:
    scripts, handlers, styles, _ = inline()
    script_src = ["'self'"] + (["'unsafe-hashes'"] if handlers else []) + sorted(scripts | handlers)
    style_src = ["'self'"] + (["'unsafe-hashes'"] if styles else []) + sorted(styles)
    return "; ".join([
        "default-src 'self'", "script-src " + " ".join(script_src), "style-src " + " ".join(style_src),
        "img-src 'self' data:", "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'",
    ])


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        if not settings.GONGSHU_CSP:
            raise MiddlewareNotUsed  # development and tests: not in the chain at all
        self.get_response = get_response
        self.header = policy()

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", self.header)
        return response
