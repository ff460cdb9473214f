"""C1, C2: entries with every SYS Art. 12 field, reviewed on the workflow engine, every version kept."""

import datetime as dt

import pytest
from django.utils import timezone

from audit.models import Event
from catalog.models import Resource, ResourceVersion
from catalog.services import draft_resource, submit_resource, update_draft
from foundation.errors import Conflict, PermissionDenied, ValidationFailed
from core.workdays import add_workdays
from workflow.models import Case
from workflow.services import transition

from .factories import entry_fields, entry_items

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(city):
    return city.actor("officer")


@pytest.fixture
def draft(officer):
    return draft_resource(officer, fields=entry_fields(), items=entry_items())


def _walk_to_published(city, case):
    transition(city.actor("bureau"), case, "approve")
    transition(city.actor("centre"), case, "verify")
    return transition(city.actor("bureau"), case, "publish")


def test_entry_carries_every_art_12_field(draft, city):
    assert draft.provider_name == "双鸭山市公安局"
    assert draft.provider_code == city.police.uscc
    assert draft.spatial_coverage == city.region
    assert draft.code.startswith("230500-")
    assert [i.column for i in draft.items.all()] == ["citizen_id", "name", "address"]
    assert draft.status == Resource.Status.DRAFT and draft.version == 0


def test_the_whole_review_publishes_and_keeps_the_version(draft, officer, city):
    """C2: agency → bureau review → service centre verifies → bureau re-review → published."""
    case = submit_resource(officer, draft)
    assert (case.state, case.assignee) == ("bureau_review", city.bureau)
    case = _walk_to_published(city, case)
    draft.refresh_from_db()
    assert case.state == "published" and case.closed_at is not None
    assert (draft.status, draft.published_version) == (Resource.Status.PUBLISHED, 1)
    version = ResourceVersion.objects.get(resource=draft, number=1)
    assert version.published_at is not None and version.data["share_type"] == "conditional"
    assert [s.transition for s in case.steps.all()] == ["submit", "approve", "verify", "publish"]
    actions = list(Event.objects.filter(object_type="workflow.case", object_id=str(case.pk)).values_list("action", flat=True))
    assert actions == [f"workflow.catalog_review.{t}" for t in ("submit", "approve", "verify", "publish")]


def test_each_step_has_its_rulebook_deadline_in_working_days(draft, officer, city):
    case = submit_resource(officer, draft)
    today = timezone.localdate()
    assert case.deadline_rule == "catalog.review"
    assert case.due_on == add_workdays(today, 5)
    case = transition(city.actor("bureau"), case, "approve")
    assert (case.deadline_rule, case.due_on) == ("catalog.verify", add_workdays(today, 5))
    case = transition(city.actor("centre"), case, "verify")
    assert (case.deadline_rule, case.due_on) == ("catalog.re_review", add_workdays(today, 2))


def test_an_update_of_a_published_entry_is_reviewed_within_2_wd(draft, officer, city):
    """C2, SYS Art. 13(2): the bureau reviews an updated entry within 2 wd and publishes it."""
    _walk_to_published(city, submit_resource(officer, draft))
    update_draft(officer, draft, fields={"legal_basis": "《居住证暂行条例》（2025 修订）"})
    case = submit_resource(officer, draft)
    assert case.case_type == "catalog_update_review"
    assert (case.deadline_rule, case.due_on) == ("catalog.update_review", add_workdays(timezone.localdate(), 2))
    transition(city.actor("bureau"), case, "publish")
    draft.refresh_from_db()
    assert draft.published_version == 2
    assert ResourceVersion.objects.filter(resource=draft).count() == 2
    assert ResourceVersion.objects.get(resource=draft, number=1).data["legal_basis"] == "《居住证暂行条例》"


def test_returned_entry_is_revised_and_resubmitted(draft, officer, city):
    case = submit_resource(officer, draft)
    with pytest.raises(ValidationFailed) as exc:
        transition(city.actor("bureau"), case, "return")
    assert exc.value.field == "comment"  # a refusal states its reasons
    case = transition(city.actor("bureau"), case, "return", comment="摘要过于简略")
    draft.refresh_from_db()
    assert (case.state, case.assignee, draft.status) == ("returned", city.police, Resource.Status.RETURNED)
    update_draft(officer, draft, fields={"summary": "流动人口居住登记、变更登记和居住证办理信息，按日更新。"})
    case = submit_resource(officer, draft)
    assert case.state == "bureau_review"
    assert ResourceVersion.objects.filter(resource=draft).count() == 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"share_type": "conditional", "share_conditions": ""}, "share_conditions"),
        ({"share_type": "conditional", "legal_basis": ""}, "legal_basis"),
        ({"share_type": "not_shared", "legal_basis": "", "share_conditions": ""}, "legal_basis"),
        ({"open_type": "conditional", "open_conditions": ""}, "open_conditions"),
        ({"open_type": "not_open", "open_conditions": "随便"}, "open_conditions"),
        ({"operation_status": "in_scope", "operation_scenarios": ""}, "operation_scenarios"),
        ({"temporal_end": dt.date(2000, 1, 1)}, "temporal_end"),
        ({"share_type": "sometimes"}, "share_type"),
        ({"name": "  "}, "name"),
    ],
)
def test_inconsistent_fields_are_refused_field_by_field_and_nothing_is_written(officer, overrides, field):
    before = (Resource.objects.count(), Event.objects.filter(outcome="ok").count())
    with pytest.raises(ValidationFailed) as exc:
        draft_resource(officer, fields=entry_fields(**overrides), items=entry_items())
    assert field in exc.value.errors
    assert (Resource.objects.count(), Event.objects.filter(outcome="ok").count()) == before
    refusal = Event.objects.order_by("-seq").first()
    assert (refusal.action, refusal.outcome) == ("catalog.draft_resource", "refused")


def test_bad_items_are_refused(officer):
    items = entry_items() + [{"name": "姓名", "column": "name"}, {"name": "", "column": "1bad"}]
    with pytest.raises(ValidationFailed) as exc:
        draft_resource(officer, fields=entry_fields(), items=items)
    assert {"items.3.name", "items.3.column", "items.4.name", "items.4.column"} <= set(exc.value.errors)


def test_submit_with_missing_mandatory_fields_is_refused_and_opens_no_case(officer):
    resource = draft_resource(officer, fields={"name": "只有名称"}, items=[])
    cases = Case.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        submit_resource(officer, resource)
    assert {"summary", "data_format", "industry_category", "update_frequency", "share_methods", "items"} <= set(exc.value.errors)
    resource.refresh_from_db()
    assert (resource.status, resource.version, Case.objects.count()) == (Resource.Status.DRAFT, 0, cases)


def test_agency_staff_drafts_but_only_the_data_officer_submits(city):
    staff = city.actor("staff")
    resource = draft_resource(staff, fields=entry_fields(), items=entry_items())
    with pytest.raises(PermissionDenied):
        submit_resource(staff, resource)


def test_another_agency_cannot_edit_or_submit(draft, city):
    other = city.actor("cdo_civil_affairs")
    with pytest.raises(PermissionDenied):
        update_draft(other, draft, fields={"name": "改名"})
    with pytest.raises(PermissionDenied):
        submit_resource(other, draft)
    draft.refresh_from_db()
    assert draft.name == "流动人口居住登记信息"


def test_entry_under_review_cannot_be_edited_or_resubmitted(draft, officer):
    submit_resource(officer, draft)
    with pytest.raises(Conflict):
        update_draft(officer, draft, fields={"name": "改名"})
    with pytest.raises(Conflict):
        submit_resource(officer, draft)
