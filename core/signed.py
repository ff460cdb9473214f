"""The one authenticator of signed requests (front-end machines pushing batches, federation peers): the
sender named in its header is known, the Ed25519 signature over method, path, time, nonce and body holds,
the time is within the window, and the nonce was not used before (one nonce table). Any refusal is counted
for the client address and minute as every unknown sender's is (``core.auth.refuse_unauthenticated``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from foundation import signing
from foundation.errors import NotAuthenticated

from .auth import refuse_unauthenticated
from .models import Nonce

T = TypeVar("T")
SIGNED = ("X-Gongshu-Time", "X-Gongshu-Nonce", "X-Gongshu-Signature")


def authenticate(request, *, scope: str, sender_header: str, find: Callable[[str], tuple[str, T]], action: str,
                 body: bytes | None = None, token: Callable[[str], str] = lambda sender: "") -> T:
    """The sender ``find(name)`` returns (with its public key) for the request's ``sender_header``, once its
    signature over ``body`` (the request's), time and nonce hold; else a refusal audited as ``action``.
    ``find`` raises NotAuthenticated for an unknown or withdrawn sender; ``token`` names the sender in the
    refusal count."""
    name = request.headers.get(sender_header, "")
    timestamp, nonce, signature = (request.headers.get(h, "") for h in SIGNED)
    window = dt.timedelta(seconds=settings.GONGSHU_PUSH_WINDOW_SECONDS)
    try:
        public_key, sender = find(name)
        signing.verify(public_key, method=request.method, path_with_query=request.get_full_path(),
                       body=request.body if body is None else body,
                       timestamp=timestamp, nonce=nonce, signature=signature, window=window)
        try:
            with transaction.atomic():
                Nonce.objects.filter(at__lt=timezone.now() - 2 * window).delete()
                Nonce.objects.create(scope=scope, sender=name[:100], nonce=nonce[:64])
        except IntegrityError:
            raise NotAuthenticated("重放的请求", code="replayed") from None
    except NotAuthenticated as exc:
        refuse_unauthenticated(request, action, exc, token=token(name))
    return sender
