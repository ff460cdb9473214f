"""P1, P2: registry writes validate identifiers; every permission check is scoped to organisation and region."""

import pytest

from audit.models import Event
from foundation import permissions
from foundation.actor import system_actor
from foundation.errors import PermissionDenied, ValidationFailed
from core.models import Organisation, User
from core.services import create_organisation, create_user

pytestmark = pytest.mark.django_db


def test_an_organisation_with_an_invalid_uscc_is_refused_and_nothing_is_written(small_city):
    before = Organisation.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        create_organisation(system_actor(), name="假单位", kind="agency", region=small_city.region, uscc="91110000600037341M")
    assert exc.value.field == "uscc" and "校验位不正确" in exc.value.message
    assert Organisation.objects.count() == before
    refusal = Event.objects.order_by("-seq").first()
    assert (refusal.action, refusal.outcome) == ("core.create_organisation", "refused")


def test_a_user_with_an_invalid_citizen_id_is_refused():
    before = User.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        create_user(system_actor(), username="zhang", password="Str0ng-enough!", citizen_id="110105194912310021")
    assert exc.value.field == "citizen_id"
    assert User.objects.count() == before


def test_a_role_is_held_only_in_an_organisation_of_its_kind(small_city):
    from core.services import add_membership

    with pytest.raises(ValidationFailed):
        add_membership(system_actor(), user=small_city.user("officer"), organisation=small_city.bureau, role="data_officer")


def test_the_county_bureau_manages_only_its_region(small_city):
    county = small_city.actor("county_bureau")
    assert permissions.can(county, "core.create_organisation", region=small_city.county)
    with pytest.raises(PermissionDenied) as exc:
        create_organisation(county, name="市级单位", kind="agency", region=small_city.region, uscc=None)
    assert exc.value.code == "other_region"


@pytest.mark.parametrize(
    ("username", "permission", "target", "allowed"),
    [
        ("officer", "catalog.draft_resource", "police", True),
        ("officer", "catalog.draft_resource", "civil", False),
        ("staff", "catalog.submit_resource", "police", False),
        ("bureau", "catalog.add_open_priority_entry", "county_civil", True),
        ("county_bureau", "catalog.add_open_priority_entry", "county_civil", True),
        ("county_bureau", "catalog.add_open_priority_entry", "civil", False),
        ("centre", "catalog.add_open_priority_entry", "civil", False),
        ("operator", "catalog.draft_resource", "operator", False),
        ("public", "workflow.view_cases", None, False),
        ("supervisor", "audit.view", "civil", True),
    ],
)
def test_permission_matrix(small_city, username, permission, target, allowed):
    organisation = getattr(small_city, target) if target else None
    assert permissions.can(small_city.actor(username), permission, organisation=organisation) is allowed
