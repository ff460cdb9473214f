"""Nobody loses their cases (issue 14 item 3): every party of a case (the provider, the applicant, the
reviewers) finds it, open or closed; an organisation that is no party does not."""

import pytest

from core.actor import act_as
from core.models import Membership
from workflow import selectors
from workflow.models import Case

pytestmark = pytest.mark.django_db


def _member_actor(organisation_id):
    membership = Membership.objects.filter(organisation_id=organisation_id).exclude(
        role__in=("bureau_admin", "supervisor", "service_centre_staff")).select_related("user").first()
    return act_as(membership.user, organisation_id) if membership else None


def test_every_party_of_every_demo_case_finds_it_open_or_closed_P2(city):
    cases = list(Case.objects.all())
    assert any(c.closed_at for c in cases) and any(not c.closed_at for c in cases)
    checked = 0
    for case in cases:
        for organisation_id in {case.applicant_id, *case.parties.values()}:
            actor = _member_actor(organisation_id)
            if actor is None:
                continue  # overseers find their region's cases by their own rule
            assert selectors.restrict(actor).filter(pk=case.pk).exists(), (case.number, organisation_id)
            checked += 1
    assert checked > len(cases)  # parties beyond the applicant were checked


def test_a_body_that_is_no_party_does_not_find_the_case_P2(city, sign_in):
    outsider = city.actor("cdo_health")
    case = Case.objects.filter(case_type="share_request").exclude(party_organisations=outsider.organisation) \
        .exclude(applicant=outsider.organisation).exclude(assignee=outsider.organisation).first()
    assert not selectors.restrict(outsider).filter(pk=case.pk).exists()
    closed = Case.objects.exclude(closed_at=None).filter(party_organisations=city.police).first()
    assert sign_in("officer").get(f"/cases/{closed.number}/").status_code == 200  # a party, after the case closed


def test_the_queue_lists_the_cases_a_body_takes_part_in_and_those_that_ended_P2(city, sign_in):
    import re

    page = sign_in("officer").get("/cases/").content.decode()
    closed = page[page.index('id="closed"'):]
    numbers = set(re.findall(r'/cases/([A-Z]{2}\d+)/', closed[:closed.index("</section>")]))
    expected = {c.number for c in Case.objects.exclude(closed_at=None).filter(party_organisations=city.police)}
    assert expected and expected <= numbers | {n for n in expected if len(numbers) >= 100}
