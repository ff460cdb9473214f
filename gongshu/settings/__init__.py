"""Settings: one base module plus small topic modules, every value from the environment
with a safe default for the embedded set-up (SQLite + Parquet under ``var/``)."""

from .base import *  # noqa: F401,F403
from .security import *  # noqa: F401,F403
