"""C3 information-system projects, C4 lists, C2 version comparison."""

import datetime as dt

import pytest
from django.utils import timezone

from catalog.diff import compare
from catalog.models import ListEntry, Project, Resource
from catalog.selectors import list_rows
from catalog.services import (
    accept_project, add_list_entry, draft_resource, file_project_resources, register_project,
)
from foundation.errors import PermissionDenied, ValidationFailed

from .factories import entry_fields, entry_items

pytestmark = pytest.mark.django_db
YEAR = 2026


def _names(rows):
    return {row[3] for row in rows}


def test_derived_lists_follow_the_catalog(city):
    bureau = city.actor("bureau")
    responsibility = _names(list_rows(bureau, ListEntry.Kind.RESPONSIBILITY, YEAR))
    assert {"户籍人口基本信息", "市场主体登记信息"} <= responsibility
    open_list = _names(list_rows(bureau, ListEntry.Kind.OPEN_RESPONSIBILITY, YEAR))
    assert open_list == {"市场主体登记信息", "公交线路与站点信息", "空气质量监测小时数据"}
    assert list_rows(bureau, ListEntry.Kind.NEGATIVE, YEAR) == []


def test_agencies_add_demands_and_the_bureau_the_annual_open_priorities(city):
    household = Resource.objects.get(name="户籍人口基本信息")
    add_list_entry(city.actor("cdo_civil_affairs"), kind="demand", year=YEAR, title="婚姻登记核验需户籍信息", resource=household)
    add_list_entry(city.actor("bureau"), kind="open_priority", year=YEAR, title="公共交通实时到站数据")
    assert _names(list_rows(city.actor("bureau"), "demand", YEAR)) == {"户籍人口基本信息"}
    assert _names(list_rows(city.actor("bureau"), "open_priority", YEAR)) == {"公共交通实时到站数据"}
    assert list_rows(city.actor("bureau"), "open_priority", YEAR + 1) == []


def test_only_the_bureau_sets_open_priorities(city):
    with pytest.raises(PermissionDenied):
        add_list_entry(city.actor("officer"), kind="open_priority", year=YEAR, title="x")
    assert not ListEntry.objects.exists()


def test_derived_lists_take_no_manual_entries(city):
    with pytest.raises(ValidationFailed) as exc:
        add_list_entry(city.actor("bureau"), kind="negative", year=YEAR, title="x")
    assert exc.value.field == "kind"


def test_list_exports(client, sign_in):
    sign_in("bureau")
    response = client.get("/catalog/lists/responsibility.csv", {"year": YEAR})
    assert response.status_code == 200 and response.content.startswith(b"\xef\xbb\xbf")
    assert "户籍人口基本信息" in response.content.decode("utf-8-sig")
    assert client.get("/catalog/lists/responsibility.xlsx", {"year": YEAR}).status_code == 200


# --- projects (C3, SYS Art. 14) ----------------------------------------------------------------


@pytest.fixture
def draft(city):
    return draft_resource(city.actor("officer"), fields=entry_fields(), items=entry_items())


def test_a_project_files_its_catalog_at_approval(city, draft):
    officer = city.actor("officer")
    with pytest.raises(ValidationFailed) as exc:
        register_project(officer, name="智慧公安平台", approved_on=dt.date(2026, 3, 1), resources=[])
    assert exc.value.field == "resources" and not Project.objects.exists()
    project = register_project(officer, name="智慧公安平台", approved_on=dt.date(2026, 3, 1), resources=[draft])
    assert list(project.resources.all()) == [draft]


def test_a_project_files_only_its_own_agencys_catalog(city):
    with pytest.raises(ValidationFailed):
        register_project(city.actor("officer"), name="x", approved_on=dt.date(2026, 3, 1),
                         resources=[Resource.objects.get(name="婚姻登记信息")])


def test_acceptance_waits_for_the_published_catalog_and_the_data(city, draft):
    officer = city.actor("officer")
    household = Resource.objects.get(name="户籍人口基本信息")
    Resource.objects.filter(pk=household.pk).update(mounted_at=None, mount_ref="")  # as before its data came in
    project = register_project(officer, name="智慧公安平台", approved_on=dt.date(2026, 3, 1), resources=[draft])
    with pytest.raises(ValidationFailed) as exc:
        accept_project(officer, project, accepted_on=timezone.localdate())
    assert "目录尚未发布" in exc.value.message
    file_project_resources(officer, project, resources=[household])
    with pytest.raises(ValidationFailed) as exc:
        accept_project(officer, project, accepted_on=timezone.localdate())
    assert "数据尚未归集挂载" in " ".join(exc.value.errors["resources"])
    Resource.objects.filter(pk=household.pk).update(mounted_at=timezone.now(), mount_ref="snapshot-1")
    project = accept_project(officer, project, accepted_on=timezone.localdate())
    assert project.status == Project.Status.ACCEPTED


# --- versions (C2) -----------------------------------------------------------------------------


def test_the_demo_household_versions_differ_in_basis_and_one_item():
    household = Resource.objects.get(name="户籍人口基本信息")
    v1, v2 = (household.versions.get(number=n).data for n in (1, 2))
    fields, items = compare(v1, v2)
    assert [c.field for c in fields] == ["legal_basis"]
    assert [(i.column, i.kind) for i in items] == [("former_name", "added")]


def test_compare_names_changed_item_attributes():
    old = {"name": "甲", "items": [{"column": "a", "name": "A", "grade": "general_internal"}]}
    new = {"name": "乙", "items": [{"column": "a", "name": "A", "grade": "important"}, {"column": "b", "name": "B"}]}
    fields, items = compare(old, new)
    assert [(c.label, c.old, c.new) for c in fields] == [("数据资源名称", "甲", "乙")]
    assert items[0].kind == "changed" and items[0].changes[0].label == "分级"
    assert items[1].kind == "added"


def test_compare_api(client, city):
    from core.services import issue_token

    _, token = issue_token(city.actor("public"), name="t", scopes=["read"])
    household = Resource.objects.get(name="户籍人口基本信息")
    body = client.get(f"/api/v1/catalog/resources/{household.pk}/compare", {"a": 1, "b": 2},
                      HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert body["items"][0]["column"] == "former_name"
    missing = client.get(f"/api/v1/catalog/resources/{household.pk}/compare", {"a": 1, "b": 9},
                         HTTP_AUTHORIZATION=f"Bearer {token}")
    assert missing.status_code == 404 and missing.json()["field"] == "b"
