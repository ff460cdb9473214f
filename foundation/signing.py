"""Signed HTTP requests between machines (a front-end machine pushing data, two Gongshu instances in
federation): Ed25519 over method, path with query, time, a nonce and the body's SHA-256. A stale time,
a reused nonce or a bad signature is refused by the receiver."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import secrets
import time
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def message(method: str, path_with_query: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return "\n".join([method.upper(), path_with_query, timestamp, nonce, hashlib.sha256(body).hexdigest()]).encode()


def public_key_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


def sign(key: Ed25519PrivateKey, method: str, path_with_query: str, body: bytes) -> tuple[str, str, str]:
    """(time, nonce, signature) for a request about to be sent."""
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    return timestamp, nonce, base64.b64encode(key.sign(message(method, path_with_query, timestamp, nonce, body))).decode()


def verify_signature(public_key_b64: str, signature_b64: str, data: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64)).verify(base64.b64decode(signature_b64), data)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def within_window(timestamp: str, window: dt.timedelta, now: float | None = None) -> bool:
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    return abs((now or time.time()) - sent) <= window.total_seconds()


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The key at ``path``, created (0600) on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def send(base_url: str, method: str, path_with_query: str, *, key: Ed25519PrivateKey, sender: tuple[str, str],
         body: bytes = b"", content_type: str = "application/json", timeout: float = 600) -> tuple[int, dict]:
    """Send a signed request; ``sender`` is the header naming the signer (machine or instance).
    Returns (HTTP status, JSON answer)."""
    import json
    import urllib.error
    import urllib.request

    timestamp, nonce, signature = sign(key, method, path_with_query, body)
    request = urllib.request.Request(base_url.rstrip("/") + path_with_query, data=body if method != "GET" else None,
                                     method=method, headers={
                                         "Content-Type": content_type, sender[0]: sender[1], "X-Gongshu-Time": timestamp,
                                         "X-Gongshu-Nonce": nonce, "X-Gongshu-Signature": signature,
                                     })
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def verify(public_key: str, *, method: str, path_with_query: str, body: bytes, timestamp: str, nonce: str, signature: str,
           window: dt.timedelta) -> None:
    """Refuse a request whose time is outside ``window``, which has no nonce, or whose signature is bad
    (the caller then records the nonce, so a replay is refused too)."""
    from .errors import NotAuthenticated

    if not within_window(timestamp, window):
        raise NotAuthenticated("请求时间超出允许范围", code="stale_request")
    if not (8 <= len(nonce) <= 64):
        raise NotAuthenticated("缺少随机数", code="nonce_missing")
    if not verify_signature(public_key, signature, message(method, path_with_query, timestamp, nonce, body)):
        raise NotAuthenticated("签名无效", code="bad_signature")


def is_public_key(text: str) -> bool:
    """Whether ``text`` is an Ed25519 public key as the peers exchange them (base64 of 32 bytes)."""
    import binascii

    try:
        return len(base64.b64decode(text or "", validate=True)) == 32
    except (binascii.Error, ValueError):
        return False
