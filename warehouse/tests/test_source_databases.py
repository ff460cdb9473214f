"""A1 (security finding, critical): database extraction must never read the platform itself. A source is a
registered source database approved by the bureau; a SQLite file only under the import directory, never the
platform's database by any spelling, link or copy, never the data or key directory. Each refusal changes
nothing: no source, no batch, no snapshot; each refused run is audited with the source's ids."""

import os
import sqlite3

import pytest
from django.contrib.sessions.models import Session
from django.db import connection

from audit.models import Event
from catalog.models import DataItem, Resource
from foundation.actor import system_actor
from foundation.errors import PermissionDenied, ValidationFailed
from core.services import issue_token
from warehouse.checks import import_dir_outside_data_and_keys
from warehouse.extract import SourceRefused
from warehouse.models import Batch, ExtractionSource, Snapshot, SourceDatabase, SourceHostAllowlist
from warehouse.services import add_source_host, register_source_database, remove_source_host, run_due_extractions, run_extraction
from workflow.services import transition

from .conftest import write_sqlite

pytestmark = pytest.mark.django_db


def _token(city, username):
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_token(city.actor(username), name='t', scopes=['read', 'write'])[1]}"}


@pytest.fixture
def platform_db(settings, tmp_path):
    """The platform's own database file: the test database in the data directory; on a PostgreSQL run, a
    stand-in with Django's session table in a data directory of the test's own."""
    if connection.vendor == "sqlite":
        return os.path.realpath(connection.settings_dict["NAME"])
    settings.GONGSHU_DATA_DIR = tmp_path / "data"
    settings.GONGSHU_DATA_DIR.mkdir()
    stand_in = sqlite3.connect(settings.GONGSHU_DATA_DIR / "gongshu.sqlite3")
    stand_in.execute("CREATE TABLE django_session (session_key, session_data, expire_date)")
    stand_in.close()
    return str(settings.GONGSHU_DATA_DIR / "gongshu.sqlite3")


@pytest.fixture
def household():
    """An entry the officer's agency owns and has published, its items turned into django_session's columns
    (the finding's first step: catalog drafts no longer govern, but this fix must hold by itself)."""
    from warehouse import query

    resource = Resource.objects.get(name="户籍人口基本信息")
    resource.items.all().delete()
    for position, column in enumerate(["session_key", "session_data", "expire_date"]):
        DataItem.objects.create(resource=resource, position=position, name=column, column=column, data_type="string")
    resource.save()  # as publication does: a new updated_at, so the query path sees these items
    yield resource
    query._policies.clear()  # the rollback restores the rows, not this process's cache of them


def _register(city, path, username="cdo_human_resources"):
    return register_source_database(city.actor(username), name="源库", kind="sqlite", path=path)


def _forced(organisation, path, resource, table="django_session"):
    """A source and schedule written straight into the database, as if every check at registration failed."""
    database = SourceDatabase.objects.create(organisation=organisation, name="强行写入", kind="sqlite", path=path,
                                             status="approved")
    return database, ExtractionSource.objects.create(resource=resource, source_database=database, table=table)


def _nothing_read(resource, batches, snapshots, database, source, code=None):
    assert Batch.objects.count() == batches and Snapshot.objects.count() == snapshots
    event = Event.objects.filter(action="warehouse.run_extraction").latest("seq")
    assert (event.outcome, event.object_id) == ("refused", str(source.pk))
    assert (event.data["source_database"], event.data["extraction_source"]) == (database.pk, source.pk)
    if code:
        assert event.data["error"]["code"] == code


def test_the_finding_reproduced_is_refused_at_every_step(client, city, household, platform_db, import_dir):
    """A1: the officer's attack — a "sqlite" extraction of the platform's own database, table django_session,
    then a query of the result — is refused at registration (API), the old free-DSN endpoint refuses, and a
    source forced into the database is refused at its run: no batch, no snapshot, not one session key out."""
    client.force_login(city.user("bureau"))  # a live session the attack was after
    keys = set(Session.objects.values_list("session_key", flat=True))
    assert keys
    officer = _token(city, "officer")
    sources, schedules, batches, snapshots = (SourceDatabase.objects.count(), ExtractionSource.objects.count(),
                                              Batch.objects.count(), Snapshot.objects.count())

    response = client.post("/api/v1/data/sources", {"name": "会话库", "kind": "sqlite", "path": platform_db},
                           content_type="application/json", **officer)
    assert response.status_code == 422 and response.json()["code"] == "path_invalid"
    response = client.post(f"/api/v1/data/{household.pk}/extractions",
                           {"kind": "sqlite", "dsn": platform_db, "table": "django_session"},
                           content_type="application/json", **officer)
    assert response.status_code == 422 and "请先登记源数据库" in response.json()["message"]
    assert (SourceDatabase.objects.count(), ExtractionSource.objects.count()) == (sources, schedules)

    for path in (platform_db, os.path.relpath(platform_db, import_dir)):
        database, source = _forced(city.police, path, household)
        assert run_due_extractions(system_actor()) == 0
        with pytest.raises(SourceRefused):
            run_extraction(system_actor(), source)
        _nothing_read(household, batches, snapshots, database, source, code="path_invalid")
        source.delete()
        database.delete()

    response = client.post(f"/api/v1/data/{household.pk}/query", {"purpose": "核查", "sql": "select session_key from data"},
                           content_type="application/json", **_token(city, "officer"))
    assert not any(key in response.content.decode() for key in keys)


def _spellings(platform_db, import_dir):
    relative = os.path.relpath(platform_db, import_dir)
    data = os.path.basename(os.path.dirname(platform_db))
    return [
        platform_db,  # absolute
        relative,  # ../ traversal
        "./" + relative,
        f"file:{platform_db}",
        f"file:{platform_db}?mode=rw",
        "x.sqlite3?mode=rw",
        "x.sqlite3#x",
        f"{platform_db}?immutable=1",
        "hr//x.sqlite3",
        "hr/./x.sqlite3",
        "hr/../x.sqlite3",
        "../" + data.upper() + "/" + os.path.basename(platform_db),  # case differences
        "..\\" + data + "\\" + os.path.basename(platform_db),
        "x.sqlite3\n",
        "",
    ]


def test_every_spelling_of_a_path_outside_the_import_directory_is_refused(city, platform_db, import_dir):
    """A1: absolute paths, ../ traversal, file: URIs, ?mode= and other parameters, // and /./ , other cases and
    separators: refused at registration, nothing created."""
    (import_dir / "hr").mkdir()
    write_sqlite(import_dir / "x.sqlite3", Resource.objects.get(name="社会保险参保信息"), [], [])
    for path in _spellings(platform_db, import_dir):
        with pytest.raises(SourceRefused) as refused:
            _register(city, path)
        assert refused.value.code == "path_invalid", path
    assert not SourceDatabase.objects.exists()


def _link_variants(platform_db, import_dir, settings):
    """Files inside the import directory that are the platform's database (or its key) in disguise."""
    (import_dir / "session.sqlite3").symlink_to(platform_db)
    (import_dir / "data").symlink_to(os.path.dirname(platform_db), target_is_directory=True)
    (import_dir / "keys").symlink_to(settings.GONGSHU_KEY_DIR, target_is_directory=True)
    (import_dir / "folder").mkdir()
    variants = {"session.sqlite3": "symlink", "data/" + os.path.basename(platform_db): "symlink",
                "keys/warehouse-master.key": "symlink", "folder": "not_a_file", "absent.sqlite3": "file_missing"}
    try:
        os.link(platform_db, import_dir / "hard.sqlite3")
        variants["hard.sqlite3"] = "platform_database"
    except OSError:  # another file system: a hard link cannot be made, nor exploited
        pass
    copy = sqlite3.connect(import_dir / "copy.sqlite3")
    copy.execute("CREATE TABLE django_session (session_key, session_data, expire_date)")
    copy.close()
    variants["copy.sqlite3"] = "platform_database"
    (import_dir / "key.bin").write_bytes(os.urandom(64))
    variants["key.bin"] = "not_sqlite"
    return variants


def test_links_directories_and_copies_of_the_platform_database_are_refused(city, platform_db, import_dir, settings):
    """A1: a symbolic link (to the file or on the way), a hard link (same inode), a copy carrying the platform's
    tables, a directory, a file that is not SQLite: refused at registration."""
    for path, code in _link_variants(platform_db, import_dir, settings).items():
        with pytest.raises(SourceRefused) as refused:
            _register(city, path)
        assert refused.value.code == code, path
    assert not SourceDatabase.objects.exists()


def test_a_wal_file_linked_to_the_platforms_is_refused(city, platform_db, import_dir):
    """A1: SQLite reads name-wal and name-shm beside the file: a link there to the platform's files is refused."""
    write_sqlite(import_dir / "hr.sqlite3", Resource.objects.get(name="社会保险参保信息"), [], [])
    (import_dir / "hr.sqlite3-wal").symlink_to(platform_db + "-wal")
    with pytest.raises(SourceRefused) as refused:
        _register(city, "hr.sqlite3")
    assert refused.value.code == "platform_database"
    assert not SourceDatabase.objects.exists()


def test_a_file_swapped_after_approval_is_refused_at_the_run(city, platform_db, import_dir, sqlite_source, settings):
    """A1: the checks run again at every run — an approved file replaced by a link to, or a copy of, the
    platform's database is refused: nothing read, no batch, audited with the source's ids."""
    insurance = Resource.objects.get(name="社会保险参保信息")
    variants = _link_variants(platform_db, import_dir, settings)
    write_sqlite(import_dir / "hr.sqlite3", insurance, [], [])
    database = sqlite_source("hr.sqlite3")
    source = ExtractionSource.objects.create(resource=insurance, source_database=database, table="django_session")
    batches, snapshots = Batch.objects.count(), Snapshot.objects.count()
    for path, code in variants.items():
        if code in ("file_missing", "not_a_file"):
            continue
        if "/" in path:  # through a linked directory: the path itself is changed
            SourceDatabase.objects.filter(pk=database.pk).update(path=path)
        else:  # the approved name now is the disguised file
            os.replace(import_dir / path, import_dir / "hr.sqlite3")
        source.refresh_from_db()
        with pytest.raises(SourceRefused) as refused:
            run_extraction(system_actor(), source)
        assert refused.value.code == code, path
        _nothing_read(insurance, batches, snapshots, database, source, code=code)
        SourceDatabase.objects.filter(pk=database.pk).update(path="hr.sqlite3")
        os.remove(import_dir / "hr.sqlite3")  # the link or the copy, never what it points to
        write_sqlite(import_dir / "hr.sqlite3", insurance, [], [])
    assert os.path.getsize(platform_db) > 0


def test_the_bureau_cannot_approve_a_file_swapped_before_its_decision(city, platform_db, import_dir, sqlite_source):
    """A1: the checks run again when the bureau approves: a registered file since replaced by a link to the
    platform's database cannot be approved; the case waits, the source stays pending."""
    write_sqlite(import_dir / "hr.sqlite3", Resource.objects.get(name="社会保险参保信息"), [], [])
    database = sqlite_source("hr.sqlite3", approved=False)
    os.remove(import_dir / "hr.sqlite3")
    (import_dir / "hr.sqlite3").symlink_to(platform_db)
    with pytest.raises(SourceRefused):
        transition(city.actor("bureau"), database.case, "approve")
    database.refresh_from_db()
    database.case.refresh_from_db()
    assert (database.status, database.case.state) == ("pending", "bureau_review")


@pytest.mark.parametrize("where", ["data", "inside_data", "keys", "around_data"])
def test_an_import_directory_overlapping_the_data_or_keys_is_refused(city, settings, where):
    """A1: GONGSHU_IMPORT_DIR inside (or around) the data or key directory is refused at the settings check and
    at every use."""
    data, keys = settings.GONGSHU_DATA_DIR, settings.GONGSHU_KEY_DIR
    settings.GONGSHU_IMPORT_DIR = {"data": data, "inside_data": data / "import", "keys": keys,
                                   "around_data": data.parent}[where]
    assert [e.id for e in import_dir_outside_data_and_keys()] == ["warehouse.E001"]
    with pytest.raises(SourceRefused) as refused:
        _register(city, "gongshu.sqlite3")
    assert refused.value.code == "import_dir_unsafe"
    assert not SourceDatabase.objects.exists()


def test_the_default_import_directory_passes_the_settings_check():
    assert import_dir_outside_data_and_keys() == []


# --- PostgreSQL sources: facts checked without a server -----------------------------------------------------


@pytest.mark.parametrize("host", ["/var/run/postgresql", "@abstract", "127.0.0.1,10.0.0.1", "127.0.0.1 port=5433",
                                  "host=127.0.0.1", "", "a" * 300])
def test_a_postgresql_host_is_a_plain_name_or_address(city, host):
    with pytest.raises(SourceRefused) as refused:
        register_source_database(city.actor("cdo_human_resources"), name="x", kind="postgresql", host=host, port=5432,
                                 database="hr", user="reader", password="pw")
    assert refused.value.code == "host_invalid"
    assert not SourceDatabase.objects.exists()


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "0x7f.1", "127.1", "localhost", "::ffff:127.0.0.1"])
def test_a_postgresql_host_is_checked_by_every_address_it_resolves_to(city, host):
    """A1: whatever the spelling, the resolved address decides: 127.0.0.1 is not on an allowlist of 10.20.0.0/16."""
    add_source_host(city.actor("bureau"), network="10.20.0.0/16", note="人社局数据库网段")
    with pytest.raises(SourceRefused) as refused:
        register_source_database(city.actor("cdo_human_resources"), name="x", kind="postgresql", host=host, port=5432,
                                 database="hr", user="reader", password="pw")
    assert refused.value.code == "host_not_allowed"
    assert not SourceDatabase.objects.exists()


@pytest.mark.parametrize("network", ["0.0.0.0/0", "10.0.0.0/7", "10.20.0.1/16", "example.org", "::/0", ""])
def test_the_allowlist_takes_addresses_and_narrow_networks_only(city, network):
    with pytest.raises(ValidationFailed) as refused:
        add_source_host(city.actor("bureau"), network=network, note="x")
    assert refused.value.field == "network"
    assert not SourceHostAllowlist.objects.exists()


def test_only_the_bureau_keeps_the_allowlist(client, city):
    """A1: the bureau adds and removes entries (API); an agency cannot."""
    with pytest.raises(PermissionDenied):
        add_source_host(city.actor("officer"), network="127.0.0.1", note="x")
    bureau = _token(city, "bureau")
    response = client.post("/api/v1/data/source-hosts", {"network": "10.20.0.0/16", "note": "人社局数据库网段"},
                           content_type="application/json", **bureau)
    assert response.status_code == 201, response.json()
    entry = response.json()["id"]
    assert [e["network"] for e in client.get("/api/v1/data/source-hosts", **bureau).json()] == ["10.20.0.0/16"]
    assert client.get("/api/v1/data/source-hosts", **_token(city, "officer")).json() == []
    assert client.delete(f"/api/v1/data/source-hosts/{entry}", **_token(city, "officer")).status_code == 404
    assert client.delete(f"/api/v1/data/source-hosts/{entry}", **bureau).status_code == 204
    assert not SourceHostAllowlist.objects.exists()
    assert Event.objects.filter(action="warehouse.remove_source_host").exists()


def test_an_approved_source_off_the_allowlist_stops_at_its_next_run(city):
    """A1: a forced, "approved" PostgreSQL source whose host is not (or no longer) allowed: refused before any
    connection, audited with its ids."""
    resource = Resource.objects.get(name="社会保险参保信息")
    entry = add_source_host(city.actor("bureau"), network="127.0.0.1", note="x")
    database = SourceDatabase.objects.create(organisation=resource.provider, name="pg", kind="postgresql", host="127.0.0.1",
                                             port=5432, database="hr", user="reader", status="approved")
    source = ExtractionSource.objects.create(resource=resource, source_database=database, table="public.cbxx")
    remove_source_host(city.actor("bureau"), entry)
    batches = Batch.objects.count()
    assert run_due_extractions(system_actor()) == 0
    _nothing_read(resource, batches, Snapshot.objects.count(), database, source, code="host_not_allowed")


def test_the_api_registers_lists_and_hides_the_password(client, city, import_dir):
    write_sqlite(import_dir / "hr.sqlite3", Resource.objects.get(name="社会保险参保信息"), [], [])
    cdo = _token(city, "cdo_human_resources")
    response = client.post("/api/v1/data/sources", {"name": "人社业务库", "kind": "sqlite", "path": "hr.sqlite3"},
                           content_type="application/json", **cdo)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending" and body["case"].startswith("YK") and "password" not in body
    approve = client.post(f"/api/v1/cases/{body['case']}/transitions", {"name": "approve"}, content_type="application/json",
                          **_token(city, "bureau"))
    assert approve.status_code == 200, approve.json()
    assert client.get(f"/api/v1/data/sources/{body['id']}", **cdo).json()["status"] == "approved"
    assert client.get(f"/api/v1/data/sources/{body['id']}", **_token(city, "officer")).status_code == 404
    assert [s["id"] for s in client.get("/api/v1/data/sources", **_token(city, "bureau")).json()] == [body["id"]]
