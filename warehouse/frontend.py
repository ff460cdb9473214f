"""Front-end machine push (前置机推送, A1): the agency keeps a private key on its machine; the platform
holds the public key. A push is a file in the request body, signed over method, path with query,
time, a nonce and the body's SHA-256; a stale time, a reused nonce or a bad signature is refused.
``gongshu push`` is the client."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from foundation import signing
from foundation.signing import public_key_text

HEADERS = ("X-Gongshu-Machine", "X-Gongshu-Time", "X-Gongshu-Nonce", "X-Gongshu-Signature")


# --- the agency side (client) --------------------------------------------------------------------


def keygen(private_path: Path) -> str:
    """Write a new private key (PEM, 0600) and return the public key to register with the platform."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    private_path.write_bytes(pem)
    private_path.chmod(0o600)
    return public_key_text(key.public_key())


def push(url: str, *, machine: int, key_path: Path, resource: str, file: Path, mode: str = "full",
         encoding: str | None = None) -> tuple[int, dict]:
    """POST ``file`` to the platform's push endpoint; returns (HTTP status, JSON answer)."""
    query = {"resource": resource, "mode": mode, "filename": file.name}
    if encoding:
        query["encoding"] = encoding
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    return signing.send(url, "POST", "/api/v1/data/push?" + urllib.parse.urlencode(query), key=key,
                        sender=("X-Gongshu-Machine", str(machine)), body=file.read_bytes(),
                        content_type="application/octet-stream")
