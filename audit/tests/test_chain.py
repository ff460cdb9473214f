"""SEC1, SEC2: every action lands in a tamper-evident SM3 hash chain; verify names the first bad event."""

import pytest
from click.testing import CliRunner
from django.db import DatabaseError, connection, transaction

from audit import chain
from audit.models import Event
from audit.services import checkpoint, record, verify
from catalog.services import draft_resource
from foundation.actor import system_actor
from gongshu.cli import main

from .attacks import as_attacker as _as_attacker
from .attacks import nth_seq as _seq_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed():
    """A signed checkpoint of the chain as it is (verify fails without one: see test_checkpoints)."""
    return checkpoint(system_actor("cli"))


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


def test_intact_chain_verifies(signed):
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


def test_the_database_refuses_update_and_delete(signed):
    for sql in ("UPDATE audit_event SET actor_name = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert verify().ok


def test_sha256_is_selectable_and_the_mixed_chain_verifies(settings, signed):
    settings.GONGSHU_AUDIT_ALGORITHM = "sha256"
    event = record(system_actor(), "test.sha256")
    assert event.algorithm == "sha256" and len(event.hash) == 64
    assert verify().ok


def test_cli_verify_exit_codes(signed):
    runner = CliRunner()
    ok = runner.invoke(main, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert f"ok: {Event.objects.count()} events verified" in ok.output
    target = _seq_of(3)
    _as_attacker(("UPDATE audit_event SET action = %s WHERE seq = %s", ["x", target]))
    bad = runner.invoke(main, ["audit", "verify"])
    assert bad.exit_code == 1
    assert f"BROKEN at event #{target}" in bad.output
