"""SEC2: signed checkpoints outside the data directory make a rewritten, cut or re-hashed chain fail verify;
a missing, forged or stale checkpoint is a failure, never a pass."""

import base64
import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings as django_settings
from django.utils import timezone

from audit import chain, checkpoints
from audit.checkpoints import CheckpointError
from audit.models import ChainHead, Event
from audit.services import checkpoint, checkpoint_if_due, record, verify
from foundation import signing
from foundation.actor import system_actor
from foundation.errors import PermissionDenied
from gongshu.cli import main
from gongshu.jobs import checkpoint_audit

from .attacks import cut_tail, nth_seq, rewrite_consistently

pytestmark = pytest.mark.django_db

PLATFORM = system_actor("cli")


def _files(settings):
    return sorted(Path(settings.GONGSHU_CHECKPOINT_DIR).glob("checkpoint-*.json"))


def _backdated(minutes, head=None):
    """A genuine checkpoint of ``head`` (seq, hash; default the current head), signed as if ``minutes`` ago."""
    if head is None:
        row = ChainHead.objects.get(pk=1)
        head = (row.seq, row.hash)
    at = timezone.now() - dt.timedelta(minutes=minutes)
    return checkpoints.write(checkpoints.sign([("audit", *head)], at=at))


def _refusals():
    return Event.objects.filter(action="audit.checkpoint", outcome="refused").count()


def test_a_checkpoint_is_signed_kept_outside_the_data_directory_and_published(settings):
    """SEC2: the head of each chain, the time, the signer's key id and an Ed25519 signature, in a file beside
    the keys (never in the data directory), published as latest.json with the public key."""
    head = ChainHead.objects.get(pk=1)
    written = checkpoint(PLATFORM)
    folder = Path(settings.GONGSHU_CHECKPOINT_DIR).resolve()
    assert not folder.is_relative_to(Path(settings.GONGSHU_DATA_DIR).resolve())
    assert written.path.parent == folder and _files(settings) == [written.path]
    document = json.loads(written.path.read_text())
    assert document["chains"] == [{"name": "audit", "seq": head.seq, "hash": head.hash}]
    assert document["format"] == "gongshu.audit.checkpoint/1" and document["at"].endswith("Z")
    signer = document["signer"]
    assert signer["algorithm"] == "ed25519" and len(signer["key_id"]) == 16
    unsigned = chain.canonical({k: v for k, v in document.items() if k != "signature"}).encode()
    assert signing.verify_signature(signer["public_key"], document["signature"], unsigned)
    assert json.loads((folder / "latest.json").read_text()) == document
    assert signer["public_key"] in (folder / "audit-checkpoint-ed25519.pub").read_text()
    assert (Path(settings.GONGSHU_KEY_DIR) / "audit-checkpoint-ed25519.pem").exists()  # the private key stays with the keys
    # The checkpoint is recorded as the next event, which it does not cover.
    event = Event.objects.order_by("-seq").first()
    assert (event.seq, event.action, event.object_id) == (head.seq + 1, "audit.checkpoint", str(head.seq))
    assert event.data["signature"] == document["signature"] and event.data["chains"] == document["chains"]
    result = verify()
    assert result.ok, result.reason
    assert result.checkpoint["seq"] == head.seq and result.since_checkpoint == 1


def test_the_default_checkpoint_directory_is_beside_the_keys():
    """SEC2: out of the box the checkpoints live with the keys, outside the data directory."""
    from gongshu.settings import base

    assert Path(base.GONGSHU_CHECKPOINT_DIR).is_relative_to(base.GONGSHU_KEY_DIR)
    assert not Path(base.GONGSHU_CHECKPOINT_DIR).resolve().is_relative_to(base.GONGSHU_DATA_DIR)


@pytest.mark.parametrize("how", ["inside", "symlink"])
def test_a_checkpoint_directory_inside_the_data_directory_is_refused(settings, tmp_path, how):
    """SEC2: a directory the data-directory owner controls (also through a link) holds no checkpoint."""
    inside = Path(settings.GONGSHU_DATA_DIR) / "audit" / "checkpoints"
    if how == "symlink":
        inside.mkdir(parents=True, exist_ok=True)
        (tmp_path / "witness").symlink_to(inside)
        settings.GONGSHU_CHECKPOINT_DIR = tmp_path / "witness"
    else:
        settings.GONGSHU_CHECKPOINT_DIR = inside
    before = Event.objects.count()
    with pytest.raises(CheckpointError) as refused:
        checkpoint(PLATFORM)
    assert refused.value.code == "inside_data_dir"
    assert not list(inside.glob("checkpoint-*")) if inside.exists() else True
    assert Event.objects.count() == before + 1 and _refusals() == 1  # only the audited refusal
    result = verify()
    assert not result.ok and "数据目录" in result.reason


def test_manage_check_refuses_checkpoints_or_keys_in_the_data_directory(settings):
    """SEC2: `manage.py check` (run before serving) names the misplaced directory."""
    from audit.checks import checkpoints_outside_the_data_dir

    assert checkpoints_outside_the_data_dir() == []
    for name in ("GONGSHU_CHECKPOINT_DIR", "GONGSHU_KEY_DIR"):
        original = getattr(settings, name)
        setattr(settings, name, Path(settings.GONGSHU_DATA_DIR) / "inside")
        (error,) = checkpoints_outside_the_data_dir()
        assert error.id == "audit.E001" and "数据目录" in error.msg
        setattr(settings, name, original)


def test_cut_tail_with_a_rewritten_head_fails(settings):
    """SEC2 (a): the attacker deletes the newest events and rewrites the head; the chain alone still walks."""
    written = checkpoint(PLATFORM)
    seq = written.head()[0]
    cut_tail(seq - 3)
    result = verify()
    assert not result.ok
    assert result.first_bad_seq == seq - 2 and "events were removed" in result.reason
    result = CliRunner().invoke(main, ["audit", "verify"])
    assert result.exit_code == 1 and f"BROKEN at event #{seq - 2}" in result.output


def test_an_edit_with_every_later_hash_recomputed_fails(settings):
    """SEC2 (b): one event edited, every later hash and the head recomputed with the project's own hashing."""
    written = checkpoint(PLATFORM)
    rewrite_consistently(nth_seq(5))
    result = verify()
    assert not result.ok
    assert result.first_bad_seq == written.head()[0] and "rewritten" in result.reason


def test_deleting_checkpoint_files_in_the_data_directory_does_not_help(settings):
    """SEC2 (c): the attacker rewrites as in (b) and deletes every checkpoint file the data directory holds
    (where they used to live): the signed checkpoint outside it still catches the rewrite."""
    written = checkpoint(PLATFORM)
    old_place = Path(settings.GONGSHU_DATA_DIR) / "audit" / "checkpoints"
    old_place.mkdir(parents=True, exist_ok=True)
    (old_place / "checkpoint-000000000001-1.json").write_text("{}")
    rewrite_consistently(nth_seq(5))
    for path in Path(settings.GONGSHU_DATA_DIR).rglob("*checkpoint*"):
        if path.is_file():
            path.unlink()
    assert not list(Path(settings.GONGSHU_DATA_DIR).rglob("checkpoint-*.json"))
    assert written.path.exists()
    result = verify()
    assert not result.ok and result.first_bad_seq == written.head()[0]


def test_a_forged_checkpoint_is_refused(settings, client):
    """SEC2 (d): a checkpoint whose signature does not verify with the platform's own key is refused —
    an edited one, and one the attacker signed with a key of their own for the rewritten chain."""
    written = checkpoint(PLATFORM)
    document = json.loads(written.path.read_text())
    document["chains"][0]["seq"] -= 1
    written.path.write_text(json.dumps(document))
    result = verify()
    assert not result.ok and "not validly signed" in result.reason
    assert client.get("/api/v1/audit/checkpoints/latest").status_code == 404  # never published as the latest
    written.path.unlink()

    checkpoint(PLATFORM)
    rewrite_consistently(nth_seq(5))
    head = ChainHead.objects.get(pk=1)
    mallory = Ed25519PrivateKey.generate()
    forged = {"format": checkpoints.FORMAT, "instance": "shuangyashan", "at": chain.at_text(timezone.now()),
              "chains": [{"name": "audit", "seq": head.seq, "hash": head.hash}],
              "signer": {"algorithm": "ed25519", "key_id": checkpoints.key_id(mallory.public_key()),
                         "public_key": signing.public_key_text(mallory.public_key())}}
    forged["signature"] = base64.b64encode(mallory.sign(chain.canonical(forged).encode())).decode()
    (Path(settings.GONGSHU_CHECKPOINT_DIR) / "checkpoint-9999999999999-000000000001.json").write_text(json.dumps(forged))
    result = verify()
    assert not result.ok and "not validly signed" in result.reason


def test_without_a_checkpoint_verify_fails(settings):
    """SEC2 (e): no checkpoint means a careful rewrite could not be told, so it is a failure, not a pass —
    even though the chain itself walks."""
    rewrite_consistently(nth_seq(5))
    result = verify()
    assert not result.ok and result.first_bad_seq is None and "no signed checkpoint" in result.reason
    cli = CliRunner().invoke(main, ["audit", "verify"])
    assert cli.exit_code == 1 and "FAILED: no signed checkpoint" in cli.output


def test_a_stale_checkpoint_fails(settings):
    """SEC2 (e): the latest checkpoint older than the rulebook interval plus grace means checkpoints stopped
    (or the newer ones were removed)."""
    from foundation import rulebook

    allowed = rulebook.value("audit.checkpoint_minutes") + settings.GONGSHU_CHECKPOINT_GRACE_MINUTES
    _backdated(allowed + 1)
    result = verify()
    assert not result.ok and "older than" in result.reason
    _backdated(allowed - 1)
    assert verify().ok


def test_a_missing_signing_key_fails_and_is_not_replaced(settings, tmp_path):
    """SEC2: checkpoints that cannot be checked are not trusted; verify creates no new key."""
    checkpoint(PLATFORM)
    settings.GONGSHU_KEY_DIR = tmp_path / "empty-keys"
    result = verify()
    assert not result.ok and "签名密钥" in result.reason
    assert not (tmp_path / "empty-keys").exists()


def test_verify_reports_the_window_since_the_checkpoint(settings):
    """SEC2: events after the latest checkpoint are not anchored yet; verify says how many."""
    written = checkpoint(PLATFORM)
    for i in range(3):
        record(system_actor(), "test.after_checkpoint", ("test", i))
    result = verify()
    assert result.ok and result.checkpoint["seq"] == written.head()[0] and result.since_checkpoint == 4
    cli = CliRunner().invoke(main, ["audit", "verify"])
    assert cli.exit_code == 0 and f"checkpoint #{written.head()[0]}" in cli.output and "4 event(s) since it" in cli.output


def test_a_rewritten_chain_is_not_signed_by_the_next_checkpoint(settings):
    """SEC2: the worker's next signature would otherwise bless a rewrite; it is refused and audited, and the
    chain keeps failing verify. An operator may knowingly start a new chain; the document says what it supersedes."""
    first = checkpoint(PLATFORM)
    rewrite_consistently(nth_seq(5))
    with pytest.raises(CheckpointError) as refused:
        checkpoint(system_actor("system"))
    assert refused.value.code == "chain_rewritten"
    assert _files(settings) == [first.path] and _refusals() == 1
    first.path.unlink()
    _backdated(120, first.head())  # the same checkpoint, two hours ago: the worker's job is due
    assert checkpoint_audit().startswith("checkpoint REFUSED")
    assert not verify().ok
    cli = CliRunner().invoke(main, ["audit", "checkpoint"])
    assert cli.exit_code == 1 and "REFUSED" in cli.output
    cli = CliRunner().invoke(main, ["audit", "checkpoint", "--new-chain"])
    assert cli.exit_code == 0, cli.output
    latest = checkpoints.latest()
    assert latest.document["supersedes"]["seq"] == first.head()[0]
    assert verify().ok  # what the operator now vouches for; the supersession stays in the published record


def test_an_internally_broken_chain_is_not_signed(settings):
    """SEC2: a chain that does not walk (an edited event) gets no checkpoint, not even a new one."""
    target = nth_seq(7)
    from .attacks import as_attacker

    as_attacker(("UPDATE audit_event SET action = %s WHERE seq = %s", ["x", target]))
    for new_chain in (False, True):
        with pytest.raises(CheckpointError) as refused:
            checkpoint(PLATFORM, new_chain=new_chain)
        assert refused.value.code == "chain_broken" and f"#{target}" in refused.value.message
    assert _files(settings) == []


def test_only_the_platform_signs(settings, city):
    """SEC2: no user signs a checkpoint, not even the bureau administrator; the refusal is audited."""
    with pytest.raises(PermissionDenied) as refused:
        checkpoint(city.actor("bureau"))
    assert refused.value.code == "forbidden"
    assert _files(settings) == [] and _refusals() == 1


def test_the_worker_checkpoints_at_the_rulebook_interval(settings, tmp_path):
    """SEC2: the scheduled job signs when the latest checkpoint is audit.checkpoint_minutes old (SYS Art. 60),
    and not before; another rulebook's interval is followed."""
    assert checkpoint_audit().startswith("checkpoint #")  # none yet: due
    assert checkpoint_audit() == "0 checkpoints due"
    (fresh,) = _files(settings)
    fresh.unlink()
    _backdated(30)  # newer than the 60-minute interval: not due
    assert checkpoint_if_due(PLATFORM) is None
    rulebook = tmp_path / "frequent.yaml"
    source = (Path(django_settings.BASE_DIR) / "gongshu" / "rulebooks" / "shuangyashan.yaml").read_text(encoding="utf-8")
    rulebook.write_text(source.replace("  audit.checkpoint_minutes:\n    value: 60", "  audit.checkpoint_minutes:\n    value: 20"),
                        encoding="utf-8")
    settings.GONGSHU_RULEBOOK = str(rulebook)
    from foundation import rulebook as rules

    assert rules.value("audit.checkpoint_minutes") == 20
    assert checkpoint_if_due(PLATFORM) is not None  # 30 minutes old is due at 20
    result = CliRunner().invoke(main, ["worker", "--once"])
    assert result.exit_code == 0 and "checkpoint_audit: 0 checkpoints due" in result.output


def test_the_demo_load_signs_a_checkpoint(settings):
    """SEC2: `demo load` ends with a signed checkpoint, so the demo's verify passes from the start."""
    from gongshu.demo import load

    load(echo=lambda *_: None)
    latest = checkpoints.latest()
    assert latest is not None and latest.head()[0] == ChainHead.objects.get(pk=1).seq - 1
    assert verify().ok


def test_the_latest_checkpoint_is_public(settings, client):
    """SEC2: anyone may poll and keep the latest checkpoint, without signing in; none yet is a structured 404."""
    missing = client.get("/api/v1/audit/checkpoints/latest")
    assert missing.status_code == 404
    assert missing.json() == {"code": "no_checkpoint", "message": "尚无已签名的审计检查点", "field": None}
    written = checkpoint(PLATFORM)
    response = client.get("/api/v1/audit/checkpoints/latest")
    assert response.status_code == 200
    assert response.json() == written.document == json.loads((written.path.parent / "latest.json").read_text())
