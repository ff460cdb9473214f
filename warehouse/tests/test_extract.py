"""A1 database extraction: full and incremental (by a timestamp column) from a registered source database the
bureau approved; an unapproved, refused, withdrawn or suspended source never runs."""

import random

import pytest

from audit.models import Event
from foundation.actor import system_actor
from foundation.errors import Conflict, PermissionDenied, ValidationFailed
from gongshu.demo import _synthetic_rows
from warehouse import query
from warehouse.extract import SourceRefused
from warehouse.models import Batch, ExtractionSource, SourceDatabase
from warehouse.services import (register_extraction, register_source_database, reinstate_source_database,
                                run_due_extractions, run_extraction, suspend_source_database)
from workflow.services import transition

from .conftest import write_sqlite

pytestmark = pytest.mark.django_db


def _rows(resource, seed, n):
    return _synthetic_rows(resource, random.Random(seed), n)[1]


def test_full_extraction_from_an_approved_sqlite_source(city, insurance, import_dir, sqlite_source):
    """A1: a file of the import directory, approved by the bureau, is extracted and published as a snapshot;
    the run is audited with the source database's and the schedule's ids."""
    write_sqlite(import_dir / "hr" / "cbxx.sqlite3", insurance, _rows(insurance, 1, 120), ["2026-11-01"] * 120)
    database = sqlite_source("hr/cbxx.sqlite3")
    assert database.status == "approved" and database.case.state == "approved"
    source = register_extraction(city.actor("cdo_human_resources"), insurance, source_database=database, table="cbxx")
    batch = run_extraction(system_actor(), source)
    assert (batch.channel, batch.status, batch.rows_accepted) == ("extract", "published", 120)
    assert query.snapshot_of(insurance).batch == batch
    event = Event.objects.filter(action="warehouse.run_extraction").latest("seq")
    assert event.object_id == str(source.pk) and event.outcome == "ok"
    assert (event.data["source_database"], event.data["extraction_source"]) == (database.pk, source.pk)


def test_incremental_extraction_takes_only_new_rows(city, insurance, import_dir, sqlite_source):
    db = import_dir / "hr.sqlite3"
    write_sqlite(db, insurance, _rows(insurance, 2, 100),
                 [f"2026-11-01T00:00:{i:02d}" for i in range(60)] + ["2026-11-02T00:00:00"] * 40)
    source = register_extraction(city.actor("cdo_human_resources"), insurance, source_database=sqlite_source("hr.sqlite3"),
                                 table="cbxx", mode="incremental", watermark_column="updated_at")
    first = run_extraction(system_actor(), source)
    source.refresh_from_db()
    assert first.rows_accepted == 100 and source.watermark == "2026-11-02T00:00:00"
    assert run_extraction(system_actor(), source) is None  # nothing new
    write_sqlite(db, insurance, _rows(insurance, 3, 10), ["2026-11-03T08:00:00"] * 10)
    source.refresh_from_db()
    second = run_extraction(system_actor(), source)
    assert second.rows_received == 10 and second.mode == "delta"
    assert query.snapshot_of(insurance).row_count == first.snapshot.row_count + 10


def test_a_failing_source_gives_a_refused_batch(city, insurance, import_dir, sqlite_source):
    """A source that is fine but has no such table: a refused batch the provider sees."""
    write_sqlite(import_dir / "hr.sqlite3", insurance, _rows(insurance, 1, 3), ["2026-11-01"] * 3)
    source = register_extraction(city.actor("cdo_human_resources"), insurance, source_database=sqlite_source("hr.sqlite3"),
                                 table="missing")
    batch = run_extraction(system_actor(), source)
    assert batch.status == "refused" and "抽取失败" in batch.message


@pytest.mark.parametrize("table", ["cbxx; DROP TABLE x", "a b", "1abc", "sqlite_master", "main.sqlite_schema"])
def test_table_names_are_plain_identifiers_of_the_source(city, insurance, import_dir, sqlite_source, table):
    write_sqlite(import_dir / "hr.sqlite3", insurance, _rows(insurance, 1, 3), ["2026-11-01"] * 3)
    database = sqlite_source("hr.sqlite3")
    with pytest.raises(ValidationFailed):
        register_extraction(city.actor("cdo_human_resources"), insurance, source_database=database, table=table)
    assert not ExtractionSource.objects.exists()


def test_due_extractions_run_on_schedule(city, insurance, import_dir, sqlite_source):
    write_sqlite(import_dir / "hr.sqlite3", insurance, _rows(insurance, 4, 30), ["2026-11-01"] * 30)
    register_extraction(city.actor("cdo_human_resources"), insurance, source_database=sqlite_source("hr.sqlite3"), table="cbxx")
    assert run_due_extractions(system_actor()) == 1
    assert run_due_extractions(system_actor()) == 0  # not due again before its interval


def test_the_registration_opens_a_review_case_for_the_bureau(city, import_dir, insurance, sqlite_source):
    """A1: registering a source opens a case on the bureau of the agency's region, due within the rulebook's
    (platform default) deadline; a refusal must give reasons."""
    write_sqlite(import_dir / "hr.sqlite3", insurance, [], [])
    database = sqlite_source("hr.sqlite3", approved=False)
    case = database.case
    assert (database.status, case.case_type, case.state) == ("pending", "source_database_review", "bureau_review")
    assert case.assignee == city.bureau and case.deadline_rule == "extraction.source_review" and case.due_on
    with pytest.raises(PermissionDenied):  # the agency cannot approve its own source
        transition(city.actor("cdo_human_resources"), case, "approve")
    with pytest.raises(ValidationFailed):
        transition(city.actor("bureau"), case, "refuse")
    transition(city.actor("bureau"), case, "refuse", comment="该库含未脱敏的个人信息，请提供抽取视图")
    database.refresh_from_db()
    assert (database.status, database.status_reason) == ("refused", "该库含未脱敏的个人信息，请提供抽取视图")


@pytest.mark.parametrize("state", ["pending", "refused", "withdrawn", "suspended"])
def test_a_source_not_approved_never_runs(city, insurance, import_dir, sqlite_source, state):
    """A1: the schedule skips a source that is not approved, and a direct run refuses it (audited with the
    source's ids); nothing is read, no batch, nothing published."""
    write_sqlite(import_dir / "hr.sqlite3", insurance, _rows(insurance, 4, 30), ["2026-11-01"] * 30)
    database = sqlite_source("hr.sqlite3")
    source = register_extraction(city.actor("cdo_human_resources"), insurance, source_database=database, table="cbxx")
    if state == "suspended":
        suspend_source_database(city.actor("bureau"), database, reason="抽取账号泄露，暂停")
    else:
        SourceDatabase.objects.filter(pk=database.pk).update(status=state)
    source.refresh_from_db()
    batches, snapshot = Batch.objects.count(), query.snapshot_of(insurance)
    assert run_due_extractions(system_actor()) == 0
    with pytest.raises(SourceRefused) as refused:
        run_extraction(system_actor(), source)
    assert refused.value.code == "not_approved"
    assert Batch.objects.count() == batches and query.snapshot_of(insurance) == snapshot
    event = Event.objects.filter(action="warehouse.run_extraction").latest("seq")
    assert event.outcome == "refused" and event.object_id == str(source.pk)
    assert (event.data["source_database"], event.data["error"]["code"]) == (database.pk, "not_approved")


def test_only_an_approved_source_of_the_provider_can_be_scheduled(city, insurance, import_dir, sqlite_source):
    write_sqlite(import_dir / "hr.sqlite3", insurance, [], [])
    pending = sqlite_source("hr.sqlite3", approved=False)
    with pytest.raises(Conflict):
        register_extraction(city.actor("cdo_human_resources"), insurance, source_database=pending, table="cbxx")
    police = SourceDatabase.objects.create(organisation=city.police, name="公安库", kind="sqlite", path="hr.sqlite3",
                                           status="approved")
    with pytest.raises(PermissionDenied):
        register_extraction(city.actor("cdo_human_resources"), insurance, source_database=police, table="cbxx")
    assert not ExtractionSource.objects.exists()


def test_the_bureau_suspends_and_reinstates_a_source(city, insurance, import_dir, sqlite_source):
    write_sqlite(import_dir / "hr.sqlite3", insurance, _rows(insurance, 5, 10), ["2026-11-01"] * 10)
    database = sqlite_source("hr.sqlite3")
    with pytest.raises(PermissionDenied):  # the agency cannot lift or impose it
        suspend_source_database(city.actor("cdo_human_resources"), database, reason="x")
    with pytest.raises(ValidationFailed):
        suspend_source_database(city.actor("bureau"), database, reason=" ")
    suspend_source_database(city.actor("bureau"), database, reason="核查中")
    reinstate_source_database(city.actor("bureau"), database, reason="核查完毕")
    database.refresh_from_db()
    assert database.status == "approved"


def test_an_extraction_schedule_from_before_registration_never_runs(city, insurance):
    """A1: a schedule left without a source database by the migration (its free connection string dropped)
    needs re-registration: refused, audited, nothing read."""
    source = ExtractionSource.objects.create(resource=insurance, table="cbxx")
    assert run_due_extractions(system_actor()) == 0
    with pytest.raises(SourceRefused) as refused:
        run_extraction(system_actor(), source)
    assert refused.value.code == "needs_registration"


def test_only_the_data_officer_registers_and_names_are_unique(city, import_dir, insurance, sqlite_source):
    write_sqlite(import_dir / "hr.sqlite3", insurance, [], [])
    with pytest.raises(PermissionDenied):
        register_source_database(city.actor("staff"), name="x", kind="sqlite", path="hr.sqlite3")
    sqlite_source("hr.sqlite3", approved=False)
    with pytest.raises(Conflict):
        sqlite_source("hr.sqlite3", approved=False)
    assert SourceDatabase.objects.count() == 1


def test_extraction_intervals_are_rules_A1(city, insurance, import_dir, sqlite_source, settings, tmp_path):
    """Issue 13 item 9: the default interval and its bounds are rules extraction.interval_default/min/max."""
    import yaml

    from foundation import rulebook

    write_sqlite(import_dir / "hr.sqlite3", insurance, _rows(insurance, 1, 3), ["2026-11-01"] * 3)
    database = sqlite_source("hr.sqlite3")
    officer = city.actor("cdo_human_resources")
    assert register_extraction(officer, insurance, source_database=database, table="cbxx").interval_minutes == 1440
    with pytest.raises(ValidationFailed) as short:
        register_extraction(officer, insurance, source_database=database, table="cbxx", interval_minutes=4)
    assert short.value.field == "interval_minutes"
    data = yaml.safe_load((rulebook.RULEBOOK_DIR / "shuangyashan.yaml").read_text(encoding="utf-8"))
    data["rules"]["extraction.interval_min"]["value"], data["rules"]["extraction.interval_default"]["value"] = 1, 60
    path = tmp_path / "intervals.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    settings.GONGSHU_RULEBOOK = str(path)
    assert register_extraction(officer, insurance, source_database=database, table="cbxx", interval_minutes=4).interval_minutes == 4
    assert register_extraction(officer, insurance, source_database=database, table="cbxx").interval_minutes == 60
