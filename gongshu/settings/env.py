"""Reading the environment, with the embedded defaults in one place."""

import os
import secrets
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


# The rulebook (foundation.rulebook): a name under gongshu/rulebooks/ or a path. Here, not in base.py, because
# security.py reads its account rules first.
RULEBOOK = env("GONGSHU_RULEBOOK", "shuangyashan")

DATA_DIR = Path(env("GONGSHU_DATA_DIR", str(REPO_DIR / "var"))).resolve()
if env("PYTEST_XDIST_WORKER"):  # a parallel test run: each worker (and its child processes) has its own
    DATA_DIR = DATA_DIR / env("PYTEST_XDIST_WORKER")
# Keys live apart from data: a copy of the data directory alone must not carry them.
KEY_DIR = Path(env("GONGSHU_KEY_DIR", str(DATA_DIR.parent / (DATA_DIR.name + "-keys")))).resolve()


def secret_key() -> str:
    """DJANGO_SECRET_KEY from the environment, else one generated once and kept in the key dir."""
    value = env("DJANGO_SECRET_KEY")
    if value:
        return value
    KEY_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = KEY_DIR / "django-secret-key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50))
    return path.read_text().strip()
