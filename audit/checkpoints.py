"""Signed checkpoints of the audit chain, kept and published outside the data directory (SEC2).

A checkpoint names the head (seq, hash) of each chain, the time, and the signer's key id, signed with
the platform's Ed25519 key from the key directory. Files go to ``GONGSHU_CHECKPOINT_DIR`` (beside the keys
by default, or a witness directory others poll and keep): one file per checkpoint, ``latest.json`` (the
newest, what pollers fetch) and the public key. Whoever owns only the data directory can rewrite the
database but can neither sign a new checkpoint nor delete the ones already written.

Document (``FORMAT``), signed over the canonical JSON of everything but ``signature``::

    {"format": "gongshu.audit.checkpoint/1", "instance": "shuangyashan", "at": "2026-05-01T08:00:00.000000Z",
     "chains": [{"name": "audit", "seq": 1234, "hash": "…"}],
     "signer": {"algorithm": "ed25519", "key_id": "…", "public_key": "<base64>"},
     "supersedes": {…}  (only when an operator started a new chain over an unrelated earlier one),
     "signature": "<base64>"}
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

from foundation import signing
from foundation.errors import GongshuError

from . import chain

FORMAT = "gongshu.audit.checkpoint/1"
AUDIT_CHAIN = "audit"
KEY_FILE = "audit-checkpoint-ed25519.pem"
PUBLIC_KEY_FILE = "audit-checkpoint-ed25519.pub"
LATEST = "latest.json"


class CheckpointError(GongshuError):
    code = "checkpoint"
    status = 409


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    document: dict

    @property
    def at(self) -> str:
        return self.document["at"]

    def head(self, name: str = AUDIT_CHAIN) -> tuple[int, str] | None:
        """(seq, hash) of the named chain, or None if the checkpoint does not bind it."""
        for entry in self.document["chains"]:
            if entry["name"] == name:
                return entry["seq"], entry["hash"]
        return None

    def summary(self) -> dict:
        seq, head_hash = self.head()
        return {"seq": seq, "hash": head_hash, "at": self.at, "key_id": self.document["signer"]["key_id"],
                "path": str(self.path)}


def _outside_data_dir(path: Path, what: str) -> Path:
    resolved, data = path.resolve(), Path(settings.GONGSHU_DATA_DIR).resolve()
    if resolved == data or resolved.is_relative_to(data):
        raise CheckpointError(f"{what} {resolved} 位于数据目录 {data} 之内：掌握数据目录者可改写或删除它，须配置到数据目录之外",
                              code="inside_data_dir")
    return resolved


def directory() -> Path:
    """Where checkpoints are written and published; refused if it lies inside the data directory."""
    return _outside_data_dir(Path(settings.GONGSHU_CHECKPOINT_DIR), "检查点目录")


def key_path() -> Path:
    return _outside_data_dir(Path(settings.GONGSHU_KEY_DIR), "密钥目录") / KEY_FILE


def _signing_key() -> Ed25519PrivateKey:
    return signing.load_private_key(key_path())  # created (0600) on the first checkpoint


def _public_key() -> Ed25519PublicKey:
    """The platform's own key: what every checkpoint must verify against (never the key a file names)."""
    path = key_path()
    if not path.exists():
        raise CheckpointError(f"签名密钥 {path} 不存在：无法验证检查点", code="checkpoint_key_missing")
    return serialization.load_pem_private_key(path.read_bytes(), password=None).public_key()


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return chain.digest("sm3", _raw(key))[:16]


def _signed_bytes(document: dict) -> bytes:
    return chain.canonical({k: v for k, v in document.items() if k != "signature"}).encode()


def sign(heads: list[tuple[str, int, str]], *, at: dt.datetime, supersedes: dict | None = None) -> dict:
    """The signed document for these chain heads ``(name, seq, hash)`` at time ``at``."""
    key = _signing_key()
    document = {
        "format": FORMAT,
        "instance": settings.GONGSHU_INSTANCE_NAME,
        "at": chain.at_text(at),
        "chains": [{"name": name, "seq": seq, "hash": head_hash} for name, seq, head_hash in heads],
        "signer": {"algorithm": "ed25519", "key_id": key_id(key.public_key()),
                   "public_key": signing.public_key_text(key.public_key())},
    }
    if supersedes:
        document["supersedes"] = supersedes
    document["signature"] = base64.b64encode(key.sign(_signed_bytes(document))).decode()
    return document


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write(document: dict) -> Checkpoint:
    """Keep the document as its own file and publish it as ``latest.json`` beside the public key."""
    folder = directory()
    folder.mkdir(parents=True, exist_ok=True)
    at = dt.datetime.fromisoformat(document["at"].replace("Z", "+00:00"))
    seq = next(entry["seq"] for entry in document["chains"] if entry["name"] == AUDIT_CHAIN)
    path = folder / f"checkpoint-{int(at.timestamp() * 1000):013d}-{seq:012d}.json"
    text = json.dumps(document, ensure_ascii=False, indent=1)
    _write_atomically(path, text)
    _write_atomically(folder / LATEST, text)
    signer = document["signer"]
    _write_atomically(folder / PUBLIC_KEY_FILE, f"{signer['algorithm']} {signer['key_id']} {signer['public_key']}\n")
    return Checkpoint(path, document)


def _good(document, public_key: Ed25519PublicKey) -> bool:
    try:
        if document.get("format") != FORMAT or document["signer"]["key_id"] != key_id(public_key):
            return False
        public_key.verify(base64.b64decode(document["signature"]), _signed_bytes(document))
        return all(isinstance(c["seq"], int) and isinstance(c["hash"], str) for c in document["chains"])
    except Exception:  # unreadable, incomplete or forged: not a checkpoint of this platform
        return False


def load() -> tuple[list[Checkpoint], list[Path]]:
    """Every checkpoint file in the directory: (good ones oldest first, files that are not validly signed)."""
    folder = directory()
    files = sorted(folder.glob("checkpoint-*.json")) if folder.exists() else []
    if not files:
        return [], []
    public_key = _public_key()
    good, bad = [], []
    for path in files:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            document = None
        if isinstance(document, dict) and _good(document, public_key):
            good.append(Checkpoint(path, document))
        else:
            bad.append(path)
    good.sort(key=lambda c: (c.at, c.path.name))
    return good, bad


def latest() -> Checkpoint | None:
    """The newest validly signed checkpoint that binds the audit chain."""
    good = [c for c in load()[0] if c.head() is not None]
    return good[-1] if good else None


def age(checkpoint: Checkpoint, now: dt.datetime) -> dt.timedelta:
    return now - dt.datetime.fromisoformat(checkpoint.at.replace("Z", "+00:00"))
