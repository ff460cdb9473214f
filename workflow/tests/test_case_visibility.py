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


def test_every_case_page_shows_what_it_decides_C2_S3_S5(city, sign_in):
    """A share request shows the entry, the items with their grades, the rows, method, period, scenario and
    basis; a correction the current value beside the claimed one; a catalog review the entry and its
    changes; any other case its subject's fields."""
    import re

    from workflow import engine

    seen = set()
    for case in Case.objects.order_by("-created_at"):
        if case.case_type in seen:
            continue
        seen.add(case.case_type)
        facts = {f.label: f for f in engine.summary(city.actor("bureau"), case)}
        assert facts, case.case_type
        if case.case_type == "share_request":
            assert {"数据资源", "申请数据项", "数据范围", "共享方式", "使用期限至", "应用场景", "履职依据"} <= set(facts)
            assert re.search(r"（[^）]+）", str(facts["申请数据项"].value))  # each item with its grade
            assert facts["数据资源"].link.startswith("/catalog/")
        if case.case_type == "correction":
            assert {"当前值", "应为", "记录", "数据项"} <= set(facts)
        if case.case_type.startswith("catalog_"):
            assert facts["目录"].link == f"/catalog/{case.subject_id}/"
    assert {"share_request", "correction", "catalog_review"} <= seen
    share = Case.objects.filter(case_type="share_request").first()
    page = sign_in("bureau").get(f"/cases/{share.number}/").content.decode()
    assert 'id="case-facts"' in page and "申请数据项" in page and "履职依据" in page


def test_each_declared_summary_resolves(db):
    from workflow import engine

    declared = [ct for ct in engine.case_types() if ct.summary]
    assert {ct.name for ct in declared} >= {"share_request", "correction", "catalog_review", "catalog_update_review"}
    assert all(callable(engine.resolve_hook(ct.summary)) for ct in declared)
