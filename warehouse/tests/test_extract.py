"""A1 database extraction: full and incremental (by a timestamp column), from SQLite and PostgreSQL."""

import os
import random
import sqlite3

import pytest
from django.db import connection

from catalog.models import Resource
from core.actor import system_actor
from core.errors import ValidationFailed
from gongshu.demo import _synthetic_rows
from warehouse import query
from warehouse.models import ExtractionSource
from warehouse.services import register_extraction, run_due_extractions, run_extraction

pytestmark = pytest.mark.django_db


@pytest.fixture
def insurance():
    return Resource.objects.get(name="社会保险参保信息")


def _columns(resource):
    return [i.column for i in resource.items.order_by("position")]


def _sqlite_source(path, resource, rows, stamps):
    columns = _columns(resource)
    db = sqlite3.connect(path)
    db.execute(f"CREATE TABLE IF NOT EXISTS cbxx ({', '.join(columns)}, updated_at TEXT)")
    db.executemany(f"INSERT INTO cbxx VALUES ({', '.join('?' * (len(columns) + 1))})", [r + [s] for r, s in zip(rows, stamps)])
    db.commit()
    db.close()


def test_full_extraction_from_sqlite(city, insurance, tmp_path):
    _, rows = _synthetic_rows(insurance, random.Random(1), 120)
    _sqlite_source(tmp_path / "hr.sqlite3", insurance, rows, ["2026-11-01"] * 120)
    source = register_extraction(city.actor("cdo_human_resources"), insurance, kind="sqlite",
                                 dsn=str(tmp_path / "hr.sqlite3"), table="cbxx")
    assert str(tmp_path) not in source.dsn_sealed  # the connection string is sealed at rest
    batch = run_extraction(system_actor(), source)
    assert (batch.channel, batch.status, batch.rows_accepted) == ("extract", "published", 120)


def test_incremental_extraction_takes_only_new_rows(city, insurance, tmp_path):
    db = tmp_path / "hr.sqlite3"
    _, rows = _synthetic_rows(insurance, random.Random(2), 100)
    _sqlite_source(db, insurance, rows, [f"2026-11-01T00:00:{i:02d}" for i in range(60)] + ["2026-11-02T00:00:00"] * 40)
    source = register_extraction(city.actor("cdo_human_resources"), insurance, kind="sqlite", dsn=str(db), table="cbxx",
                                 mode="incremental", watermark_column="updated_at")
    first = run_extraction(system_actor(), source)
    source.refresh_from_db()
    assert first.rows_accepted == 100 and source.watermark == "2026-11-02T00:00:00"
    assert run_extraction(system_actor(), source) is None  # nothing new
    _, more = _synthetic_rows(insurance, random.Random(3), 10)
    _sqlite_source(db, insurance, more, ["2026-11-03T08:00:00"] * 10)
    source.refresh_from_db()
    second = run_extraction(system_actor(), source)
    assert second.rows_received == 10 and second.mode == "delta"
    total = query.snapshot_of(insurance).row_count
    assert total == first.snapshot.row_count + 10


def test_a_failing_source_gives_a_refused_batch(city, insurance, tmp_path):
    source = register_extraction(city.actor("cdo_human_resources"), insurance, kind="sqlite", dsn=str(tmp_path / "none.sqlite3"), table="cbxx")
    batch = run_extraction(system_actor(), source)
    assert batch.status == "refused" and "抽取失败" in batch.message


@pytest.mark.parametrize("table", ["cbxx; DROP TABLE x", "a b", "1abc"])
def test_table_names_are_identifiers_only(city, insurance, table):
    with pytest.raises(ValidationFailed):
        register_extraction(city.actor("cdo_human_resources"), insurance, kind="sqlite", dsn="x", table=table)
    assert not ExtractionSource.objects.exists()


def test_due_extractions_run_on_schedule(city, insurance, tmp_path):
    _, rows = _synthetic_rows(insurance, random.Random(4), 30)
    _sqlite_source(tmp_path / "hr.sqlite3", insurance, rows, ["2026-11-01"] * 30)
    register_extraction(city.actor("cdo_human_resources"), insurance, kind="sqlite", dsn=str(tmp_path / "hr.sqlite3"), table="cbxx")
    assert run_due_extractions(system_actor()) == 1
    assert run_due_extractions(system_actor()) == 0  # not due again before its interval


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs the PostgreSQL server of the run")
def test_full_extraction_from_postgresql(city, insurance):
    import psycopg

    settings = connection.settings_dict
    base = f"postgresql://{settings['USER']}:{settings['PASSWORD']}@{settings['HOST']}:{settings['PORT']}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS gongshu_extract_source")
        admin.execute("CREATE DATABASE gongshu_extract_source")
    try:
        columns = _columns(insurance)
        _, rows = _synthetic_rows(insurance, random.Random(5), 50)
        with psycopg.connect(f"{base}/gongshu_extract_source", autocommit=True) as db:
            db.execute(f"CREATE TABLE public.cbxx ({', '.join(c + ' text' for c in columns)})")
            with db.cursor() as cursor:
                cursor.executemany(f"INSERT INTO public.cbxx VALUES ({', '.join(['%s'] * len(columns))})", rows)
        source = register_extraction(city.actor("cdo_human_resources"), insurance, kind="postgresql",
                                     dsn=f"{base}/gongshu_extract_source", table="public.cbxx")
        batch = run_extraction(system_actor(), source)
        assert (batch.status, batch.rows_accepted) == ("published", 50)
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS gongshu_extract_source")
