"""A4: backups of metadata and data, verified by checksums, restore into a fresh installation."""

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from django.conf import settings

from gongshu.cli import main

pytestmark = pytest.mark.django_db


def _backup(tmp_path):
    dest = tmp_path / "backup"
    result = CliRunner().invoke(main, ["backup", str(dest)])
    assert result.exit_code == 0, result.output
    return dest


def test_a_backup_verifies_and_a_changed_file_is_named(tmp_path):
    dest = _backup(tmp_path)
    manifest = json.loads((dest / "manifest.json").read_text())
    from warehouse.models import Snapshot

    assert manifest["snapshots"] == Snapshot.objects.count() >= 9 and manifest["audit_head"]["seq"] > 100
    assert CliRunner().invoke(main, ["restore", "--verify-only", str(dest)]).exit_code == 0
    snapshot = next((dest / "warehouse").rglob("data.parquet"))
    snapshot.write_bytes(snapshot.read_bytes() + b"x")
    result = CliRunner().invoke(main, ["restore", "--verify-only", str(dest)])
    assert result.exit_code == 1 and "changed: warehouse/" in result.output


def test_a_backup_needs_an_empty_destination(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    result = CliRunner().invoke(main, ["backup", str(tmp_path / "full")])
    assert result.exit_code == 1 and "not empty" in result.output


def test_restore_into_a_fresh_installation_reads_the_same_data(tmp_path):
    dest = _backup(tmp_path)
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}", GONGSHU_DATA_DIR=str(tmp_path / "fresh"),
               GONGSHU_KEY_DIR=str(settings.GONGSHU_KEY_DIR))

    def gongshu(*args):
        return subprocess.run([sys.executable, "-m", "gongshu.cli", *args], env=env, capture_output=True, text=True, timeout=300)

    assert gongshu("migrate").returncode == 0
    restored = gongshu("restore", str(dest))
    assert restored.returncode == 0, restored.stderr[-2000:]
    assert "audit chain verified" in restored.stdout
    count = gongshu("data", "query", "户籍人口基本信息", "--purpose", "恢复核对", "--sql", "SELECT count(*) AS n FROM data")
    assert json.loads(count.stdout.splitlines()[0]) == {"n": 2001}
    again = gongshu("restore", str(dest))
    assert again.returncode == 1 and "not empty" in again.stderr
