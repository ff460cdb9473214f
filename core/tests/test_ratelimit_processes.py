"""The rate limiter across processes, on committed data (a child process counts in the same table)."""

import os
import subprocess
import sys

import pytest
from django.db import connection

from core import ratelimit
from foundation.errors import TooManyRequests
from core.models import RateCount
from core.tests.test_ratelimit import ROOT, _fresh_window

pytestmark = pytest.mark.committed
WINDOW = 3600


def test_the_limit_holds_across_processes(committed_demo):
    """Several gunicorn workers share one limit: uses counted by another process are refused here."""
    # A long window, so that the wait for one with room for the child process's start is rarely needed.
    _fresh_window(WINDOW, margin=60)
    for _ in range(6):
        ratelimit.hit("token:shared", limit=10, window_seconds=WINDOW)
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="gongshu.settings")
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        env["DATABASE_URL"] = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    child = subprocess.run([sys.executable, "-c", (
        "import django; django.setup()\n"
        "from core import ratelimit\nfrom foundation.errors import TooManyRequests\naccepted = 0\n"
        "for _ in range(10):\n"
        f"    try:\n        ratelimit.hit('token:shared', limit=10, window_seconds={WINDOW}); accepted += 1\n"
        "    except TooManyRequests:\n        pass\n"
        "print(accepted)")], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.strip() == "4"  # 6 used here, 4 left for the other process
    with pytest.raises(TooManyRequests):
        ratelimit.hit("token:shared", limit=10, window_seconds=WINDOW)  # and this process learns of the other's uses
    assert RateCount.objects.get(name="token:shared").count == 11  # the refused use that found out is counted
