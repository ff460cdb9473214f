"""SEC1, P2: anyone signed in may check that an event is in the chain; only the event's own organisation and
the overseers of its region see what it says (who, for whom, on what, before and after)."""

import pytest
from click.testing import CliRunner

from audit.models import Event
from audit.services import checkpoint, prove, record
from catalog.services import draft_resource
from foundation.actor import machine_actor, system_actor
from core.services import issue_token
from gongshu.cli import main

pytestmark = pytest.mark.django_db

INCLUSION = {"seq", "hash", "prev_hash", "ok", "reason", "head_seq", "head_hash", "anchored", "checkpoint", "event"}


@pytest.fixture
def events(city):
    """A city-level event (the city police bureau drafts), a county-level one (a county agency's machine),
    and one of the platform itself; then a signed checkpoint after all three."""
    draft_resource(city.actor("officer"), fields={"name": "城市级资源"}, items=[])
    city_event = Event.objects.order_by("-seq").first()
    county = record(machine_actor(city.county_civil, "前置机", frozenset({"front_end_machine"}), channel="api"),
                    "test.county_event", ("test.object", "县级对象"), after={"secret": "县级内容"})
    platform = record(system_actor(), "test.platform_event", ("test.object", "平台对象"), after={"secret": "平台内容"})
    checkpoint(system_actor("cli"))
    return {"city": city_event, "county": county, "platform": platform}


@pytest.fixture
def as_user(client, city):
    def get(username, path, **params):
        _, token = issue_token(city.actor(username), name="proof", scopes=["read"])
        return client.get(path, params, HTTP_AUTHORIZATION=f"Bearer {token}")

    return get


# who sees the content of which event; everyone signed in gets the inclusion proof
MATRIX = [
    ("county_bureau", "city", False),  # the finding: a county bureau read a city-level event
    ("county_bureau", "county", True),  # its own region
    ("county_bureau", "platform", False),
    ("bureau", "city", True),
    ("bureau", "county", True),
    ("bureau", "platform", True),
    ("supervisor", "city", True),
    ("supervisor", "county", True),
    ("supervisor", "platform", True),
    ("officer", "city", True),  # its own organisation's event
    ("officer", "county", False),
    ("officer", "platform", False),
    ("public", "city", False),
    ("public", "county", False),
]


@pytest.mark.parametrize("username,which,sees", MATRIX)
def test_inclusion_for_everyone_content_only_for_the_entitled(as_user, events, username, which, sees):
    """SEC1, P2: each refusal asserted — the proof stands, the content is withheld."""
    event = events[which]
    response = as_user(username, f"/api/v1/audit/events/{event.seq}/proof", hash=event.hash)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == INCLUSION
    assert (body["seq"], body["hash"], body["prev_hash"]) == (event.seq, event.hash, event.prev_hash)
    assert body["ok"] and body["anchored"] and body["checkpoint"]["seq"] >= event.seq
    assert "path" not in body["checkpoint"]
    if sees:
        assert body["event"]["action"] == event.action and body["event"]["actor"] == event.actor_name
        assert body["event"]["organisation"] == event.organisation_name and body["event"]["data"] == event.data
    else:
        assert body["event"] is None
        text = response.content.decode()
        for content in (event.actor_name, event.organisation_name, event.action, *event.data["after"].values()):
            assert not isinstance(content, str) or not content or content not in text


def test_the_county_bureau_gets_inclusion_but_no_content_for_a_city_event(as_user, events):
    """P2: the finding of issue 12 — 尖山区数据局 must not read 双鸭山市公安局's event, even with a wrong hash."""
    event = events["city"]
    for params in ({}, {"hash": event.hash}, {"hash": "0" * 64}):
        body = as_user("county_bureau", f"/api/v1/audit/events/{event.seq}/proof", **params).json()
        assert body["event"] is None and "双鸭山市公安局" not in str(body) and "officer" not in str(body)
    mismatch = as_user("county_bureau", f"/api/v1/audit/events/{event.seq}/proof", hash="0" * 64).json()
    assert not mismatch["ok"] and "not the receipt's" in mismatch["reason"]


def test_a_public_member_sees_only_their_own_events(city):
    """P2: the public share one organisation (社会公众); one citizen does not read another's events."""
    from core.selectors import may_see_event
    from foundation.actor import Actor
    from core.models import Role, User

    citizen = city.actor("public")
    mine = record(citizen, "test.public_event", after={"name": "孙市民"})
    neighbour = Actor(user=User.objects.create(username="public2"), organisation=citizen.organisation,
                      roles=frozenset({Role.PUBLIC_USER}))
    assert may_see_event(citizen, mine)
    assert not may_see_event(neighbour, mine)
    assert prove(mine.seq, disclose=lambda event: may_see_event(neighbour, event)).event is None


@pytest.mark.parametrize("seq", [0, -5, 10**12])
def test_an_unknown_event_is_a_structured_404(as_user, events, seq):
    """SEC1: a number that is not in the chain is not found, in the one error shape."""
    response = as_user("bureau", f"/api/v1/audit/events/{seq}/proof")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": f"审计事件 #{seq} 不在审计链中", "field": "seq"}


def test_a_proof_needs_a_signed_in_caller(client, events):
    response = client.get(f"/api/v1/audit/events/{events['city'].seq}/proof")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_without_a_reader_a_proof_carries_no_content(events):
    """SEC1: the service shows content only to a reader entitled to it; the operator's CLI reads as the platform."""
    proof = prove(events["city"].seq)
    assert proof.ok and proof.event is None
    result = CliRunner().invoke(main, ["audit", "prove", str(events["city"].seq)])
    assert result.exit_code == 0 and "双鸭山市公安局" in result.output and "anchored by signed checkpoint" in result.output
    missing = CliRunner().invoke(main, ["audit", "prove", "999999999"])
    assert missing.exit_code == 1 and "NOT PROVEN" in missing.output


def test_an_event_after_the_latest_checkpoint_is_proven_but_not_anchored(events):
    later = record(system_actor(), "test.after")
    proof = prove(later.seq)
    assert proof.ok and not proof.anchored and proof.checkpoint["seq"] < later.seq
