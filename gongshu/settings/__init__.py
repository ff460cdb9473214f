"""Settings: one base module plus small topic modules, every value from the environment
with a safe default for the embedded set-up (SQLite + Parquet under ``var/``)."""

# security first: with GONGSHU_ENV=production it refuses an unset or default secret key before base.py
# would generate one on this machine.
from . import security as _security  # noqa: F401
from .base import *  # noqa: F401,F403
from .security import *  # noqa: F401,F403
