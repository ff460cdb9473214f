"""`make bench`: each line compares our path with a plain baseline on the same machine, same run."""

from __future__ import annotations

import os
import shutil
import sys
import time
import urllib.parse
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongshu.settings")


def _fresh_data_dir() -> None:
    data = Path(os.environ.setdefault("GONGSHU_DATA_DIR", str(Path.cwd() / "var" / "bench")))
    if data.exists() and "bench" in data.name:
        shutil.rmtree(data)


BENCH_DATABASE = "gongshu_bench"


def _fresh_database() -> None:
    """On PostgreSQL, a fresh `gongshu_bench` on the server DATABASE_URL names (SQLite lives in the data dir)."""
    url = urllib.parse.urlsplit(os.environ.get("DATABASE_URL", ""))
    if url.scheme not in ("postgres", "postgresql"):
        return
    import psycopg

    with psycopg.connect(url._replace(path="/postgres").geturl(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    os.environ["DATABASE_URL"] = url._replace(path="/" + BENCH_DATABASE).geturl()  # gunicorn workers inherit it


def _measured() -> str:
    """The database and machine the figures come from."""
    from django.db import connection

    if connection.vendor == "postgresql":
        version = f"{connection.pg_version // 10000}.{connection.pg_version % 10000}"
    else:
        version = connection.Database.sqlite_version
    return f"database: {connection.display_name} {version} ({connection.settings_dict['NAME']}); {os.cpu_count()} cores"


def main(argv: list[str]) -> int:
    _fresh_data_dir()
    _fresh_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from gongshu.demo import load

    load(echo=lambda *_: None)  # every bench starts from the demo city
    from bench import audit_bench, catalog_bench, sharing_bench, warehouse_bench

    modules = {"audit": audit_bench, "catalog": catalog_bench, "warehouse": warehouse_bench, "sharing": sharing_bench}
    unknown = set(argv) - set(modules)
    if unknown:
        print(f"unknown bench: {', '.join(sorted(unknown))}; choose from {', '.join(modules)}", file=sys.stderr)
        return 2
    rows = []
    for name, module in modules.items():
        if not argv or name in argv:  # `python -m bench warehouse sharing`: only those
            rows.extend(module.run())
    width = max(len(r[0]) for r in rows)
    print(_measured())
    print(f"{'operation':<{width}}  {'ours':>16}  {'baseline':>16}  {'ratio':>7}")
    for name, ours, baseline, unit in rows:
        print(f"{name:<{width}}  {ours:>12,.0f} {unit:<3}  {baseline:>12,.0f} {unit:<3}  {ours / baseline:>7.2f}")
    return 0


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
