"""The small city of gongshu.factories (issue 13 item 1): built through the services (its creation on the
audit chain, as the system actor), as sound as the demo city (valid USCCs and citizen IDs, an entry
published through the review with a snapshot, masked for a reader other than its owner), beside the demo
without clashing, and the same every time it is built."""

import pytest

from audit.models import Event
from audit.services import verify
from core.models import Membership, Organisation, Region, Role, User
from foundation.identifiers import citizen_id_problem, uscc_problem
from gongshu import factories
from warehouse import query

pytestmark = pytest.mark.django_db

_names = []


def _built(city) -> tuple:
    orgs = Organisation.objects.filter(region__path__startswith=city.region.path)
    users = User.objects.filter(username__startswith=factories.PREFIX)
    return (sorted(Region.objects.filter(path__startswith=city.region.path).values_list("code", "name")),
            sorted(orgs.values_list("name", "uscc")), sorted(users.values_list("username", "citizen_id")),
            city.household.name, city.household.snapshots.get().row_count)


def test_every_object_is_made_by_a_service_on_the_audit_chain(small_city):
    created = Event.objects.filter(actor_id=None, channel="test", outcome="ok")
    orgs = Organisation.objects.filter(region__path__startswith=small_city.region.path)
    users = User.objects.filter(username__startswith=factories.PREFIX)
    assert orgs.count() == len(factories.BODIES) and users.count() == len(factories.USERS)
    for org in orgs:
        assert created.filter(action="core.create_organisation", object_id=str(org.pk)).exists(), org.name
    for user in users:
        assert created.filter(action="core.create_user", object_id=str(user.pk)).exists(), user.username
        assert created.filter(action="core.add_membership").filter(
            object_id__in=[str(m.pk) for m in Membership.objects.filter(user=user)]).count() == 1, user.username
    for region in (small_city.region, small_city.county):
        assert created.filter(action="core.create_region", object_id=str(region.pk)).exists()
    assert Event.objects.filter(object_id=str(small_city.household.pk), action__startswith="catalog.").exists()
    assert created.filter(action="warehouse.publish_snapshot", object_id=str(small_city.household.snapshots.get().pk)).exists()
    assert verify().first_bad_seq is None  # the chain holds them unbroken (no checkpoint is signed in a test)


def test_it_passes_the_demo_s_structural_checks(small_city):
    orgs = Organisation.objects.filter(region__path__startswith=small_city.region.path)
    assert all(uscc_problem(o.uscc) is None for o in orgs.exclude(kind="public"))
    users = User.objects.filter(username__startswith=factories.PREFIX)
    assert all(citizen_id_problem(u.citizen_id) is None and u.citizen_id.startswith("2306") for u in users)
    assert small_city.county.parent == small_city.region and small_city.region.code == "230600"
    assert small_city.user("officer").username == "dq_officer"
    assert set(Membership.objects.filter(user__in=users).values_list("role", flat=True)) == set(Role.values)  # one per role
    assert small_city.actor("cdo_civil").organisation == small_city.civil
    household = small_city.household
    assert household.status == "published" and household.provider == small_city.police
    assert household.versions.get(number=1).case.state == "published"
    assert household.snapshots.get().row_count == 5
    raw = query.arrow_of(query.snapshot_of(household)).to_pylist()
    assert all(citizen_id_problem(r["citizen_id"]) is None for r in raw)
    owner = small_city.actor("officer")
    mine = query.run(owner, household, scope=query.scope_for(owner, household, purpose="核对"), limit=5)
    bureau = small_city.actor("bureau")
    masked = query.run(bureau, household, scope=query.scope_for(bureau, household, purpose="监督"), limit=5)
    column = mine.columns.index("citizen_id")
    assert sorted(r[column] for r in mine.rows) == sorted(r["citizen_id"] for r in raw)
    seen = {c: [row[i] for row in masked.rows] for i, c in enumerate(masked.columns)}
    assert "citizen_id" not in seen or not set(seen["citizen_id"]) & {r["citizen_id"] for r in raw}


def test_it_lives_beside_the_demo_city(small_city, city):
    assert small_city.region != city.region and small_city.bureau != city.bureau
    assert small_city.user("bureau") != city.user("bureau")
    assert Organisation.objects.filter(name="双鸭山市公安局").count() == 1


@pytest.mark.parametrize("attempt", [1, 2])
def test_building_it_twice_gives_the_same_city(small_city, attempt):
    _names.append(_built(small_city))
    if attempt == 2:
        assert _names[0] == _names[1]


def test_its_users_sign_in_with_the_demo_password(small_city):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from gongshu.demo import PASSWORD

    staff = small_city.user("staff")
    assert staff.check_password(PASSWORD) and not staff.check_password("Wrong@2026")
    assert small_city.user("staff").password.startswith("argon2$")  # upgraded to the platform's cost, still argon2
    assert TOTPDevice.objects.filter(user=small_city.user("bureau"), confirmed=True).exists()
    assert not TOTPDevice.objects.filter(user=small_city.user("staff")).exists()
