"""SEC1, SEC2: every action lands in a tamper-evident SM3 hash chain; verify names the first bad event."""

import json

import pytest
from click.testing import CliRunner
from django.db import DatabaseError, connection, transaction

from audit import chain, guards
from audit.models import ChainHead, Event
from audit.services import checkpoint, record, verify
from catalog.services import draft_resource
from core.actor import system_actor
from gongshu.cli import main

pytestmark = pytest.mark.django_db


def _as_attacker(*statements):
    """What someone with database access does: drop the guard triggers and rewrite rows."""
    guards.remove(connection)
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)


def _seq_of(n):
    return Event.objects.order_by("seq").values_list("seq", flat=True)[n]


def test_sm3_is_the_national_algorithm_gb_t_32905():
    assert chain.digest("sm3", b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_a_service_write_appends_who_what_for_whom(city):
    actor = city.actor("officer")
    resource = draft_resource(actor, fields={"name": "测试资源"}, items=[])
    event = Event.objects.order_by("-seq").first()
    assert event.action == "catalog.draft_resource"
    assert (event.actor_name, event.organisation_name) == ("officer", "双鸭山市公安局")
    assert (event.object_type, event.object_id) == ("catalog.resource", str(resource.pk))
    assert event.data["after"]["name"] == "测试资源"
    assert event.algorithm == "sm3"
    assert event.prev_hash == Event.objects.get(seq=event.seq - 1).hash


def test_intact_chain_verifies():
    result = verify()
    assert result.ok, result.reason
    assert result.count == Event.objects.count() > 100


def test_edited_event_is_named():
    target = _seq_of(10)
    _as_attacker(("UPDATE audit_event SET actor_name = %s WHERE seq = %s", ["mallory", target]))
    result = verify()
    assert not result.ok
    assert result.first_bad_seq == target
    assert "altered" in result.reason


def test_deleted_event_is_named():
    target = _seq_of(20)
    _as_attacker(("DELETE FROM audit_event WHERE seq = %s", [target]))
    result = verify()
    assert (result.ok, result.first_bad_seq) == (False, target)


def test_reordered_events_are_named():
    a, b = _seq_of(30), _seq_of(31)
    _as_attacker(
        ("UPDATE audit_event SET seq = -1 WHERE seq = %s", [a]),
        ("UPDATE audit_event SET seq = %s WHERE seq = %s", [a, b]),
        ("UPDATE audit_event SET seq = %s WHERE seq = -1", [b]),
    )
    result = verify()
    assert (result.ok, result.first_bad_seq) == (False, a)


def test_cut_tail_is_detected_by_the_head():
    last = Event.objects.order_by("-seq").first().seq
    _as_attacker(("DELETE FROM audit_event WHERE seq = %s", [last]))
    result = verify()
    assert not result.ok and "removed" in result.reason


def test_the_application_has_no_update_or_delete_path():
    event = Event.objects.first()
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        Event.objects.filter(pk=event.pk).update(actor_name="x")
    with pytest.raises(TypeError):
        Event.objects.all().delete()


def test_the_database_refuses_update_and_delete():
    for sql in ("UPDATE audit_event SET actor_name = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert verify().ok


def _rewrite_consistently(from_seq):
    """A careful attacker edits one event and recomputes every hash after it, and the head."""
    rows = list(Event.objects.filter(seq__gte=from_seq).order_by("seq").values())
    prev = Event.objects.get(seq=from_seq - 1).hash
    statements = []
    for i, row in enumerate(rows):
        if i == 0:
            row["actor_name"] = "mallory"
        row["prev_hash"] = prev
        row["hash"] = chain.event_hash(row)
        prev = row["hash"]
        statements.append(("UPDATE audit_event SET actor_name = %s, prev_hash = %s, hash = %s WHERE seq = %s",
                           [row["actor_name"], row["prev_hash"], row["hash"], row["seq"]]))
    statements.append(("UPDATE audit_chainhead SET hash = %s WHERE id = 1", [prev]))
    _as_attacker(*statements)


def test_without_a_checkpoint_a_consistent_rewrite_is_invisible():
    """Why checkpoints exist: the chain alone cannot tell a full, careful rewrite (next test)."""
    _rewrite_consistently(_seq_of(5))
    assert verify().ok


def test_checkpoint_catches_a_later_rewrite():
    doc = checkpoint()
    assert verify().ok and verify().checkpoints == 1
    _rewrite_consistently(_seq_of(5))
    result = verify()
    assert not result.ok
    assert result.first_bad_seq == doc["seq"]
    assert "checkpoint" in result.reason


def test_forged_checkpoint_signature_is_detected(settings):
    doc = checkpoint()
    path = doc["path"]
    data = json.loads(open(path).read())
    data["seq"] = data["seq"] - 1
    open(path, "w").write(json.dumps(data))
    result = verify()
    assert not result.ok and "signature" in result.reason


def test_sha256_is_selectable_and_the_mixed_chain_verifies(settings):
    settings.GONGSHU_AUDIT_ALGORITHM = "sha256"
    event = record(system_actor(), "test.sha256")
    assert event.algorithm == "sha256" and len(event.hash) == 64
    assert verify().ok


def test_cli_verify_exit_codes():
    runner = CliRunner()
    ok = runner.invoke(main, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert f"ok: {Event.objects.count()} events verified" in ok.output
    target = _seq_of(3)
    _as_attacker(("UPDATE audit_event SET action = %s WHERE seq = %s", ["x", target]))
    bad = runner.invoke(main, ["audit", "verify"])
    assert bad.exit_code == 1
    assert f"BROKEN at event #{target}" in bad.output


def test_cli_checkpoint_writes_a_signed_file(settings):
    result = CliRunner().invoke(main, ["audit", "checkpoint"])
    assert result.exit_code == 0
    head = ChainHead.objects.get(pk=1)
    files = list(settings.GONGSHU_CHECKPOINT_DIR.glob("checkpoint-*.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text())
    assert data["seq"] == head.seq - 1  # the checkpoint action itself is the next event
    assert data["signature"]
