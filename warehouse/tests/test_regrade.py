"""G1, SEC3: a published re-grade to a grade encrypted at rest re-writes every snapshot of the resource
encrypted — same snapshot, version and content, one atomic swap per snapshot, audited."""

import csv
import json

import pyarrow.parquet as pq
import pytest

from audit.models import Event
from catalog.services import _item_dicts, draft_resource, submit_resource, update_draft
from catalog.tests.factories import entry_fields
from foundation.actor import system_actor
from foundation.errors import Conflict
from warehouse import query, regrade, storage
from warehouse.models import Snapshot
from warehouse.services import ingest_file
from workflow.services import transition

pytestmark = pytest.mark.django_db
ITEMS = [
    {"name": "登记编号", "column": "reg_no", "data_type": "string", "is_key": True, "required": True, "category": "G1",
     "grade": "general_internal"},
    {"name": "登记人", "column": "person", "data_type": "string", "required": True, "category": "P1",
     "grade": "general_internal"},
    {"name": "金额", "column": "amount", "data_type": "decimal", "category": "G1", "grade": "general_internal"},
]


def _grades(resource, **grades):
    items = _item_dicts(resource.items.all())
    for item in items:
        item["grade"] = grades.get(item["column"], item["grade"])
    return items


def _publish_update(city, resource, **grades):
    """The reviewed update of a published entry that changes item grades (C2, G2): draft, submit, publish."""
    officer = city.actor("officer")
    update_draft(officer, resource, items=_grades(resource, **grades), fields={"change_reason": "关联身份信息后重新分级"})
    transition(city.actor("bureau"), submit_resource(officer, resource), "publish")
    resource.refresh_from_db()


def _deliver(tmp_path, city, resource, rows, name):
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["登记编号", "登记人", "金额"]] + rows)
    batch = ingest_file(city.actor("officer"), resource, path)
    assert batch.status == "published", batch.message
    return batch.snapshot


@pytest.fixture
def resource(city):
    """A new entry of the police, graded so that nothing is encrypted, published through the whole review."""
    officer = city.actor("officer")
    entry = draft_resource(officer, fields=entry_fields(name="治安登记台账", share_methods=["api", "file"]), items=ITEMS)
    case = submit_resource(officer, entry)
    transition(city.actor("bureau"), case, "approve")
    transition(city.actor("centre"), case, "verify")
    transition(city.actor("bureau"), case, "publish")
    entry.refresh_from_db()
    return entry


@pytest.fixture
def snapshots(resource, city, tmp_path):
    first = _deliver(tmp_path, city, resource, [[f"R{i:05d}", f"登记人{i}", f"{i}.50"] for i in range(40)], "v1.csv")
    second = _deliver(tmp_path, city, resource, [[f"R{i:05d}", f"新登记人{i}", f"-{i}"] for i in range(60)], "v2.csv")
    assert not first.encrypted and not second.encrypted
    return [first, second]


def _rows(city, resource, version):
    officer = city.actor("officer")
    scope = query.scope_for(officer, resource, purpose="核对")
    return query.run(officer, resource, scope=scope, sql="SELECT * FROM data ORDER BY reg_no", as_of=version).rows


def test_a_regrade_to_an_encrypted_grade_re_encrypts_every_snapshot_with_the_same_content_G1_SEC3(
        city, resource, snapshots, django_capture_on_commit_callbacks):
    before = {s.pk: (s.version, s.row_count, s.path, s.sha256) for s in snapshots}
    rows = {s.version: _rows(city, resource, s.version) for s in snapshots}
    contents = {s.pk: regrade.content_sha256(query.arrow_of(s)) for s in snapshots}
    with django_capture_on_commit_callbacks(execute=True):
        _publish_update(city, resource, person="general_sensitive")  # 一般数据（敏感）: encrypted at rest

    after = {s.pk: s for s in Snapshot.objects.filter(resource=resource)}
    assert set(after) == set(before)  # the same snapshots, no new one
    for pk, (version, row_count, path, sha256) in before.items():
        snapshot = after[pk]
        assert snapshot.encrypted and (snapshot.version, snapshot.row_count) == (version, row_count)
        assert snapshot.path != path and not storage.absolute(path).exists()  # the clear file is gone after the commit
        new = storage.absolute(snapshot.path)
        assert snapshot.sha256 == storage.sha256_of(new) != sha256  # the file's checksum follows the file
        with pytest.raises(OSError):
            pq.read_table(new)  # not readable as plain Parquet
        assert "登记人".encode() not in new.read_bytes()
        assert regrade.content_sha256(query.arrow_of(snapshot)) == contents[pk]  # the content did not change
        assert _rows(city, resource, version) == rows[version]  # the query path answers as before
        summary = json.loads(Event.objects.get(action="warehouse.encrypt_snapshot", object_id=str(pk)).summary)
        assert summary["content_sha256"] == contents[pk] and summary["version"] == version
        assert (summary["before"]["sha256"], summary["after"]["sha256"]) == (sha256, snapshot.sha256)
    assert query.snapshot_of(resource).version == max(v for v, *_ in before.values())

    # idempotent, and a lowered grade leaves the snapshots encrypted
    assert regrade.encrypt_snapshots(system_actor(), resource) == []
    with django_capture_on_commit_callbacks(execute=True):
        _publish_update(city, resource, person="general_internal")
    assert all(s.encrypted for s in Snapshot.objects.filter(resource=resource))
    assert Event.objects.filter(action="warehouse.encrypt_snapshot", object_id__in=[str(pk) for pk in before]).count() == 2


def test_a_regrade_that_does_not_ask_for_encryption_leaves_the_files_alone_G1(
        city, resource, snapshots, django_capture_on_commit_callbacks):
    paths = {s.pk: s.path for s in snapshots}
    with django_capture_on_commit_callbacks(execute=True):
        _publish_update(city, resource, amount="general_public")
    assert dict(Snapshot.objects.filter(resource=resource).values_list("pk", "path")) == paths
    assert not Snapshot.objects.filter(resource=resource, encrypted=True).exists()
    assert not Event.objects.filter(action="warehouse.encrypt_snapshot").exists()


def test_new_batches_after_the_regrade_are_encrypted_and_the_catch_up_finds_what_was_left_in_clear_G1(
        city, resource, snapshots, tmp_path):
    _publish_update(city, resource, person="important")  # committed later: the test's transaction never commits
    assert Snapshot.objects.filter(resource=resource, encrypted=False).count() == 2  # nothing yet
    third = _deliver(tmp_path, city, resource, [["R00001", "张三", "1"]], "v3.csv")
    assert third.encrypted  # ingestion reads the grade in force
    assert regrade.encrypt_pending(system_actor()) == 2
    assert not Snapshot.objects.filter(resource=resource, encrypted=False).exists()
    assert regrade.encrypt_pending(system_actor()) == 0


def test_a_snapshot_file_that_is_not_the_recorded_one_is_refused_and_nothing_changes_G1_A4(city, resource, snapshots):
    _publish_update(city, resource, person="important")
    first = snapshots[0]
    path = storage.absolute(first.path)
    original = path.read_bytes()
    path.write_bytes(original + b"\0")  # the file was altered behind the platform's back
    try:
        with pytest.raises(Conflict) as refused:
            regrade.encrypt_snapshots(system_actor(), resource)
        assert refused.value.code == "snapshot_checksum"
        unchanged = Snapshot.objects.get(pk=first.pk)
        assert (unchanged.path, unchanged.sha256, unchanged.encrypted) == (first.path, first.sha256, False)
        assert not Event.objects.filter(action="warehouse.encrypt_snapshot", object_id=str(first.pk)).exists()
    finally:
        path.write_bytes(original)


def test_a_snapshot_re_encrypted_meanwhile_is_not_swapped_twice_G1(city, resource, snapshots):
    _publish_update(city, resource, person="important")
    stale = Snapshot.objects.get(pk=snapshots[0].pk)
    assert regrade.encrypt_snapshot(system_actor(), Snapshot.objects.get(pk=stale.pk))
    swapped = Snapshot.objects.get(pk=stale.pk)
    staging = list((storage.root() / "_staging").glob("*")) if (storage.root() / "_staging").exists() else []
    stale.encrypted = False  # another worker's view from before the swap
    assert regrade.encrypt_snapshot(system_actor(), stale) is False
    assert Snapshot.objects.get(pk=stale.pk).path == swapped.path
    leftovers = list((storage.root() / "_staging").glob("*")) if (storage.root() / "_staging").exists() else []
    assert len(leftovers) == len(staging)  # its staged copy was discarded
