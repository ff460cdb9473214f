"""Front-end machine push (前置机推送, A1): the agency keeps a private key on its machine; the platform
holds the public key. A push is a file in the request body, signed over method, path with query,
time, a nonce and the body's SHA-256; a stale time, a reused nonce or a bad signature is refused.
``gongshu push`` is the client."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

HEADERS = ("X-Gongshu-Machine", "X-Gongshu-Time", "X-Gongshu-Nonce", "X-Gongshu-Signature")


def message(method: str, path_with_query: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return "\n".join([method.upper(), path_with_query, timestamp, nonce, hashlib.sha256(body).hexdigest()]).encode()


# --- the agency side (client) --------------------------------------------------------------------


def keygen(private_path: Path) -> str:
    """Write a new private key (PEM, 0600) and return the public key to register with the platform."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    private_path.write_bytes(pem)
    private_path.chmod(0o600)
    return public_key_text(key.public_key())


def public_key_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


def push(url: str, *, machine: int, key_path: Path, resource: str, file: Path, mode: str = "full",
         encoding: str | None = None) -> tuple[int, dict]:
    """POST ``file`` to the platform's push endpoint; returns (HTTP status, JSON answer)."""
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    query = {"resource": resource, "mode": mode, "filename": file.name}
    if encoding:
        query["encoding"] = encoding
    path = "/api/v1/data/push?" + urllib.parse.urlencode(query)
    body = file.read_bytes()
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    signature = base64.b64encode(key.sign(message("POST", path, timestamp, nonce, body))).decode()
    request = urllib.request.Request(url.rstrip("/") + path, data=body, method="POST", headers={
        "Content-Type": "application/octet-stream", "X-Gongshu-Machine": str(machine), "X-Gongshu-Time": timestamp,
        "X-Gongshu-Nonce": nonce, "X-Gongshu-Signature": signature,
    })
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


# --- the platform side ---------------------------------------------------------------------------


def verify_signature(public_key_b64: str, signature_b64: str, data: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64)).verify(base64.b64decode(signature_b64), data)
    except (InvalidSignature, ValueError):
        return False
    return True


def within_window(timestamp: str, window: dt.timedelta, now: float | None = None) -> bool:
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    return abs((now or time.time()) - sent) <= window.total_seconds()
