"""Database extraction (A1) set-up: an import directory of the test's own, source databases registered by
the human-resources bureau's data officer and decided by the city bureau through their review case."""

import sqlite3

import pytest

from catalog.models import Resource


@pytest.fixture
def import_dir(settings, tmp_path):
    """GONGSHU_IMPORT_DIR for this test: outside the data and key directories."""
    path = tmp_path / "import"
    path.mkdir()
    settings.GONGSHU_IMPORT_DIR = path
    return path


@pytest.fixture
def insurance():
    return Resource.objects.get(name="社会保险参保信息")


def columns_of(resource):
    return [i.column for i in resource.items.order_by("position")]


def write_sqlite(path, resource, rows, stamps, table="cbxx"):
    """The agency's table: the resource's item columns plus a timestamp column."""
    columns = columns_of(resource)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.execute(f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(columns)}, updated_at TEXT)")
    db.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * (len(columns) + 1))})", [r + [s] for r, s in zip(rows, stamps)])
    db.commit()
    db.close()


@pytest.fixture
def approve():
    """``approve(city, source)``: the city bureau approves a registered source database through its case."""
    from workflow.services import transition

    def approve(city, source, username="bureau"):
        transition(city.actor(username), source.case, "approve")
        source.refresh_from_db()
        return source

    return approve


@pytest.fixture
def sqlite_source(city, import_dir, approve):
    """``sqlite_source("hr.sqlite3")``: that file of the import directory, registered and approved."""
    from warehouse.services import register_source_database

    def make(path, *, name="人社业务库", approved=True):
        source = register_source_database(city.actor("cdo_human_resources"), name=name, kind="sqlite", path=path)
        return approve(city, source) if approved else source

    return make
