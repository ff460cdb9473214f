"""G1–G4 and C5 inside the catalog: items are graded before submission, a re-grade is a reviewed change
with its reason that reaches every grant, source agencies follow SYS Art. 16, discovery is confirmed."""

import pytest

from audit.models import Event
from catalog.models import DataItem, GradeSuggestion, Resource
from catalog.selectors import duplicate_collections, important_data
from catalog.services import (
    _item_dicts, decide_suggestion, draft_resource, duplicate_collection, submit_resource, suggest_grades, update_draft, working,
)
from catalog.signals import grades_changed
from foundation.errors import Conflict, PermissionDenied, ValidationFailed
from foundation.identifiers import random_citizen_id
from workflow.services import transition

from .factories import entry_fields, entry_items

pytestmark = pytest.mark.django_db


@pytest.fixture
def household():
    return Resource.objects.get(name="户籍人口基本信息")


def _regrade(items, column, grade):
    for item in items:
        if item["column"] == column:
            item["grade"] = grade
    return items


def test_every_item_is_graded_before_submission(city):
    officer = city.actor("officer")
    items = entry_items()
    items[1]["grade"] = ""
    resource = draft_resource(officer, fields=entry_fields(), items=items)
    with pytest.raises(ValidationFailed) as exc:
        submit_resource(officer, resource)
    assert list(exc.value.errors) == ["items.1.grade"]


def test_unknown_grade_or_category_is_refused(city):
    items = entry_items()
    items[0]["grade"], items[1]["category"] = "secret", "ZZ"
    with pytest.raises(ValidationFailed) as exc:
        draft_resource(city.actor("officer"), fields=entry_fields(), items=items)
    assert {"items.0.grade", "items.1.category"} <= set(exc.value.errors)


def test_regrading_a_published_entry_needs_a_reason_and_writes_nothing_without(city, household):
    officer = city.actor("officer")
    items = _regrade(_item_dicts(household.items.all()), "name", "important")
    with pytest.raises(ValidationFailed) as exc:
        update_draft(officer, household, items=items, fields={})
    assert exc.value.field == "change_reason"
    assert DataItem.objects.get(resource=household, column="name").grade.code == "general_sensitive"


def test_a_regrade_takes_effect_when_reviewed_and_reaches_every_grant(city, household):
    officer, received = city.actor("officer"), []

    def listener(sender, resource, changes, actor, **kwargs):
        received.append((resource.pk, changes))

    grades_changed.connect(listener)
    try:
        items = _regrade(_item_dicts(household.items.all()), "name", "important")
        update_draft(officer, household, items=items, fields={"change_reason": "姓名与身份证号关联后属于重要数据"})
        name = DataItem.objects.get(resource=household, column="name")
        working_name = next(i for i in working(household)[1] if i["column"] == "name")
        assert working_name["grade"] == "important"  # in the working copy, not yet in force
        assert (name.grade.code, name.published_grade.code) == ("general_sensitive", "general_sensitive")
        case = submit_resource(officer, household)
        assert received == []
        transition(city.actor("bureau"), case, "publish")
    finally:
        grades_changed.disconnect(listener)
    name.refresh_from_db()
    assert name.published_grade.code == "important"
    assert received == [(household.pk, [{"column": "name", "before": "general_sensitive", "after": "important"}])]
    version = household.versions.order_by("-number").first()
    assert version.data["change_reason"] == "姓名与身份证号关联后属于重要数据"
    event = Event.objects.filter(action="catalog.publish_version", object_id=str(household.pk)).order_by("-seq").first()
    assert event.data["regraded"][0]["after"] == "important"


def test_important_data_catalog_lists_items_in_force(city, household):
    rows = list(important_data(city.actor("bureau")))
    assert sorted((i.resource.name, i.column) for i in rows) == [("人口基础库", "citizen_id"), ("户籍人口基本信息", "citizen_id")]
    assert list(important_data(city.actor("bureau"), region="230502")) == []


def test_the_important_data_catalog_is_the_acting_region_s_own_G3(city, small_city):
    """Another city's important data is not on this city's list, nor this city's on its: each bureau sees its
    region and the regions below it."""
    ours = {i.resource.name for i in important_data(city.actor("bureau"))}
    theirs = {i.resource.name for i in important_data(small_city.actor("bureau"))}
    assert small_city.household.name in theirs and small_city.household.name not in ours
    assert "户籍人口基本信息" in ours and "户籍人口基本信息" not in theirs


def test_an_item_claiming_a_non_statutory_source_agency_is_refused(city):
    items = entry_items()
    items[0].update(source_type="household_registration", source_agency=city.civil.pk)
    with pytest.raises(ValidationFailed) as exc:
        draft_resource(city.actor("officer"), fields=entry_fields(), items=items)
    assert "法定数源部门不是双鸭山市民政局" in exc.value.errors["items.0.source_agency"][0]
    assert "SYS Art. 16(1)(一)" in exc.value.errors["items.0.source_agency"][0]


def test_the_statutory_source_agency_is_filled_in(city):
    items = entry_items()
    items[0]["source_type"] = "household_registration"
    resource = draft_resource(city.actor("officer"), fields=entry_fields(), items=items)
    assert resource.items.get(column="citizen_id").source_agency == city.police
    assert duplicate_collection(resource) == []


def test_collecting_another_agencys_statutory_data_is_flagged(city):
    """SYS Art. 15, 73(7): civil affairs collecting household registration data is duplicate collection."""
    items = entry_items()
    items[0]["source_type"] = "household_registration"
    resource = draft_resource(city.actor("cdo_civil_affairs"), fields=entry_fields(), items=items)
    flagged = duplicate_collection(resource)
    assert [(i.column, i.source_agency) for i in flagged] == [("citizen_id", city.police)]
    assert resource.items.get(column="citizen_id") in list(duplicate_collections(city.actor("bureau")))


def _sample():
    import random

    rng = random.Random(3)
    columns = ["公民身份号码", "name", "居住地址", "备注"]
    rows = [[random_citizen_id(rng, "230502"), "张伟", "双鸭山市尖山区幸福路12号", "无"] for _ in range(40)]
    return columns, rows


def test_discovery_suggests_and_the_officer_confirms(city):
    officer = city.actor("officer")
    items = entry_items()
    items[2]["grade"] = "general_public"
    resource = draft_resource(officer, fields=entry_fields(), items=items)
    columns, rows = _sample()
    found = {s.column: s for s in suggest_grades(officer, resource, columns=columns, rows=rows)}
    assert set(found) == {"公民身份号码", "name", "居住地址"}
    address = found["居住地址"]
    assert (address.sensitivity, address.grade.code, address.share) == ("address", "general_sensitive", 1.0)
    decide_suggestion(officer, address, accept=True)
    item = resource.items.get(column="address")
    assert (item.sensitivity, item.grade.code, item.category.code) == ("address", "general_sensitive", "P2")
    decide_suggestion(officer, found["name"], accept=False)
    assert GradeSuggestion.objects.get(pk=found["name"].pk).status == "rejected"
    with pytest.raises(Conflict):
        decide_suggestion(officer, found["name"], accept=True)


def test_discovery_on_another_agencys_entry_is_refused(city, household):
    columns, rows = _sample()
    with pytest.raises(PermissionDenied):
        suggest_grades(city.actor("cdo_civil_affairs"), household, columns=columns, rows=rows)
    assert not household.suggestions.exists()


def test_discovery_refuses_an_empty_or_malformed_sample(city, household):
    officer = city.actor("officer")
    with pytest.raises(ValidationFailed):
        suggest_grades(officer, household, columns=["a", "a"], rows=[["1", "2"]])
    with pytest.raises(ValidationFailed):
        suggest_grades(officer, household, columns=["a"], rows=[])
