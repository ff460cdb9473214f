"""A4: a crash (kill -9) at any point of ingestion leaves no partial snapshot and loses no earlier data."""

import csv
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from catalog.models import Resource
from gongshu.demo import _synthetic_rows
from warehouse import query, storage
from warehouse.models import Batch, Snapshot
from warehouse.services import collect_garbage
from foundation.actor import system_actor

pytestmark = [pytest.mark.committed]


def _child_env(failpoint: str) -> dict:
    env = dict(os.environ)
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        env["DATABASE_URL"] = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env["GONGSHU_FAILPOINT"] = failpoint
    return env


def _delivery(tmp_path: Path, resource: Resource) -> Path:
    import random

    header, rows = _synthetic_rows(resource, random.Random(5), 3000)
    path = tmp_path / "delivery.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header] + rows)
    return path


@pytest.mark.parametrize("failpoint", ["after_write", "after_rename", "before_commit"])
def test_kill_9_during_ingestion_publishes_nothing_and_loses_nothing(committed_demo, tmp_path, failpoint):
    resource = Resource.objects.get(name="社会保险参保信息")
    before = list(Snapshot.objects.filter(resource=resource).values_list("version", "sha256"))
    old = query.arrow_of(query.snapshot_of(resource))
    child = subprocess.run(
        [sys.executable, "-m", "gongshu.cli", "data", "ingest", resource.code, str(_delivery(tmp_path, resource))],
        env=_child_env(failpoint), capture_output=True, timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    assert list(Snapshot.objects.filter(resource=resource).values_list("version", "sha256")) == before
    assert query.arrow_of(query.snapshot_of(resource)).equals(old)  # the old snapshot reads as before
    orphans = storage.unreferenced(set(Snapshot.objects.values_list("path", flat=True)))
    assert orphans, "the crash should have left an unreferenced directory to clean"
    import datetime as dt

    collect_garbage(system_actor(), stale_after=dt.timedelta(0))
    assert storage.unreferenced(set(Snapshot.objects.values_list("path", flat=True))) == []
    interrupted = Batch.objects.filter(resource=resource).order_by("-pk").first()
    assert interrupted.status == "refused" and "中断" in interrupted.message
    # and the next delivery publishes normally
    done = subprocess.run(
        [sys.executable, "-m", "gongshu.cli", "data", "ingest", resource.code, str(_delivery(tmp_path, resource))],
        env={**_child_env(""), "GONGSHU_FAILPOINT": ""}, capture_output=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert Snapshot.objects.filter(resource=resource).count() == len(before) + 1
