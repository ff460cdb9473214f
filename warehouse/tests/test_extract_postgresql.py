"""A1 extraction from PostgreSQL on a real server (skipped when none answers at 127.0.0.1:5432): the host on the
bureau's allowlist, then, once connected, never the platform's own cluster, never a superuser, never a
system catalog. The positive case runs only while the platform itself is on SQLite (on PostgreSQL the test
server is the platform's own cluster, which must be refused)."""

import os
import random
from urllib.parse import urlparse

import pytest
from django.db import connection

from foundation.actor import system_actor
from gongshu.demo import _synthetic_rows
from warehouse import query
from warehouse.extract import SourceRefused
from warehouse.models import Batch, ExtractionSource, Snapshot
from warehouse.services import add_source_host, register_extraction, register_source_database, run_extraction

from .conftest import columns_of

pytestmark = pytest.mark.django_db
PLATFORM_ON_POSTGRESQL = connection.vendor == "postgresql"
READER_PASSWORD = "reader-Extract-1"


def _admin_dsn() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        parts = urlparse(url)
        return f"postgresql://{parts.username}:{parts.password}@127.0.0.1:5432/postgres"
    return "postgresql://gongshu:gongshu@127.0.0.1:5432/postgres"


@pytest.fixture(scope="module")
def pg_server():
    """A source database on the test server: its own database and a read-only (non-superuser) role."""
    import psycopg

    try:
        admin = psycopg.connect(_admin_dsn(), autocommit=True, connect_timeout=3)
    except psycopg.Error:
        pytest.skip("no PostgreSQL server at 127.0.0.1:5432")
    suffix = os.getpid()
    names = {"database": f"gongshu_extract_{suffix}", "user": f"gongshu_reader_{suffix}"}
    admin.execute(f"DROP DATABASE IF EXISTS {names['database']}")
    admin.execute(f"DROP ROLE IF EXISTS {names['user']}")
    admin.execute(f"CREATE ROLE {names['user']} LOGIN NOSUPERUSER PASSWORD '{READER_PASSWORD}'")
    admin.execute(f"CREATE DATABASE {names['database']}")
    source = psycopg.connect(_admin_dsn().rsplit("/", 1)[0] + "/" + names["database"], autocommit=True)
    names["admin"] = urlparse(_admin_dsn()).username
    names["admin_password"] = urlparse(_admin_dsn()).password
    yield names, source
    source.close()
    admin.execute(f"DROP DATABASE IF EXISTS {names['database']} WITH (FORCE)")
    admin.execute(f"DROP ROLE IF EXISTS {names['user']}")
    admin.close()


@pytest.fixture
def pg_source(city, pg_server, approve):
    """``pg_source(user=..., password=...)``: the test server, allowlisted by the bureau, registered and approved."""
    names, _ = pg_server
    add_source_host(city.actor("bureau"), network="127.0.0.1", note="测试数据库服务器")

    def make(*, user=names["user"], password=READER_PASSWORD):
        database = register_source_database(city.actor("cdo_human_resources"), name=f"人社库-{user}", kind="postgresql",
                                            host="127.0.0.1", port=5432, database=names["database"], user=user,
                                            password=password)
        return approve(city, database)

    return make


@pytest.fixture
def cbxx(pg_server, insurance):
    """The agency's table, readable by the reader role."""
    names, source = pg_server
    columns = columns_of(insurance)
    source.execute("DROP TABLE IF EXISTS public.cbxx")
    source.execute(f"CREATE TABLE public.cbxx ({', '.join(c + ' text' for c in columns)})")
    with source.cursor() as cursor:
        cursor.executemany(f"INSERT INTO public.cbxx VALUES ({', '.join(['%s'] * len(columns))})",
                           _synthetic_rows(insurance, random.Random(5), 50)[1])
    source.execute(f"GRANT USAGE ON SCHEMA public TO {names['user']}")
    source.execute(f"GRANT SELECT ON public.cbxx TO {names['user']}")
    return "public.cbxx"


def _refused(city, resource, database, table, code):
    source = ExtractionSource.objects.create(resource=resource, source_database=database, table=table)
    batches, snapshots = Batch.objects.count(), Snapshot.objects.count()
    with pytest.raises(SourceRefused) as refused:
        run_extraction(system_actor(), source)
    assert refused.value.code == code
    assert (Batch.objects.count(), Snapshot.objects.count()) == (batches, snapshots)
    from audit.models import Event

    event = Event.objects.filter(action="warehouse.run_extraction").latest("seq")
    assert (event.outcome, event.data["source_database"], event.data["extraction_source"]) == ("refused", database.pk, source.pk)


@pytest.mark.skipif(PLATFORM_ON_POSTGRESQL, reason="the test server is the platform's own cluster on this run")
def test_full_extraction_from_postgresql(city, insurance, pg_source, cbxx):
    """A1: an approved PostgreSQL source on an allowlisted host, read by a non-superuser: published."""
    database = pg_source()
    source = register_extraction(city.actor("cdo_human_resources"), insurance, source_database=database, table=cbxx)
    batch = run_extraction(system_actor(), source)
    assert (batch.status, batch.rows_accepted) == ("published", 50)
    assert query.snapshot_of(insurance).batch == batch


def test_a_superuser_session_is_refused(city, insurance, pg_server, pg_source, cbxx):
    """A1: the platform never reads as a superuser (refused first as the platform's own cluster, when it is)."""
    names, _ = pg_server
    database = pg_source(user=names["admin"], password=names["admin_password"])
    _refused(city, insurance, database, cbxx, "own_cluster" if PLATFORM_ON_POSTGRESQL else "superuser")


def test_system_catalogs_are_refused(city, insurance, pg_server, pg_source, cbxx):
    """A1: pg_catalog and information_schema — named, or reached through the role's search_path — are refused."""
    names, source = pg_server
    database = pg_source()
    for table in ("pg_catalog.pg_authid", "pg_shadow", "information_schema.tables", "pg_toast.pg_toast_1"):
        with pytest.raises(SourceRefused):
            register_extraction(city.actor("cdo_human_resources"), insurance, source_database=database, table=table)
        _refused(city, insurance, database, table, "system_catalog")  # a schedule forced past the registration
    source.execute(f"ALTER ROLE {names['user']} IN DATABASE {names['database']} SET search_path = information_schema")
    try:
        _refused(city, insurance, database, "tables", "own_cluster" if PLATFORM_ON_POSTGRESQL else "system_catalog")
    finally:
        source.execute(f"ALTER ROLE {names['user']} IN DATABASE {names['database']} RESET search_path")


@pytest.mark.skipif(not PLATFORM_ON_POSTGRESQL, reason="the platform runs on SQLite: it has no cluster of its own")
def test_the_platforms_own_cluster_is_refused(city, insurance, pg_source, cbxx):
    """A1: a non-superuser, allowlisted, on another database of the platform's own cluster: refused by the
    cluster's system identifier."""
    _refused(city, insurance, pg_source(), cbxx, "own_cluster")
