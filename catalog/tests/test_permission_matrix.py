"""P2: who may do which act of the catalog, for which provider and region; each refusal is a PermissionDenied
with its code, writes nothing and is audited (gongshu.testing)."""

import pytest

from catalog import services
from gongshu.testing import ALLOWED, FORBIDDEN, OTHER_ORGANISATION, OTHER_REGION, Case, check_permission_matrix

from .factories import entry_fields, entry_items

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(city):
    """A draft of the police (the officer's and the staff member's agency)."""
    return services.draft_resource(city.actor("officer"), fields=entry_fields(), items=entry_items())


def test_who_drafts_an_entry_for_its_organisation_C1_P2(city):
    allowed = {"officer", "staff", "centre", "cdo_civil_affairs"}
    users = allowed | {"bureau", "county_bureau", "operator", "developer", "public", "supervisor", "expert"}
    check_permission_matrix(
        city, lambda actor, _: services.draft_resource(actor, fields=entry_fields(), items=entry_items()),
        [Case(u, None, ALLOWED if u in allowed else FORBIDDEN) for u in sorted(users)], service=services.draft_resource)


def test_who_edits_and_who_submits_the_providers_draft_C1_P2(city, draft):
    check_permission_matrix(city, lambda actor, resource: services.update_draft(actor, resource, fields={"summary": "改"}), [
        Case("officer", draft, ALLOWED), Case("staff", draft, ALLOWED),
        Case("cdo_civil_affairs", draft, OTHER_ORGANISATION), Case("centre", draft, OTHER_ORGANISATION),
        Case("bureau", draft, FORBIDDEN), Case("supervisor", draft, FORBIDDEN), Case("operator", draft, FORBIDDEN),
    ], service=services.update_draft)
    check_permission_matrix(city, services.submit_resource, [
        Case("officer", draft, ALLOWED), Case("staff", draft, FORBIDDEN),  # agency staff draft, the data officer submits
        Case("cdo_civil_affairs", draft, OTHER_ORGANISATION), Case("centre", draft, OTHER_ORGANISATION),
        Case("bureau", draft, FORBIDDEN), Case("public", draft, FORBIDDEN),
    ])


def test_who_sets_the_annual_open_priorities_for_which_region_C4_P2(city):
    def add(actor, organisation):
        return services.add_list_entry(actor, kind="open_priority", year=2025, title="公共交通实时到站数据",
                                       organisation=organisation)

    check_permission_matrix(city, add, [
        Case("bureau", city.civil, ALLOWED), Case("bureau", city.county_civil, ALLOWED),
        Case("county_bureau", city.county_civil, ALLOWED), Case("county_bureau", city.civil, OTHER_REGION),
        Case("centre", city.civil, FORBIDDEN), Case("officer", city.police, FORBIDDEN),
        Case("supervisor", city.civil, FORBIDDEN),
    ], service=services.add_list_entry)
