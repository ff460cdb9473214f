"""C1, SYS Art. 12 (issue 13 item 9): the fields a submitted entry must have are the rulebook's
(catalog.submit_fields), not a list in the code."""

import pytest
import yaml

from catalog.models import Resource
from catalog.services import draft_resource, submit_resource
from foundation import rulebook
from foundation.errors import ValidationFailed
from foundation.rulebook import RulebookError

from .factories import entry_fields, entry_items

pytestmark = pytest.mark.django_db


def _rulebook(tmp_path, settings, submit_fields):
    data = yaml.safe_load((rulebook.RULEBOOK_DIR / "shuangyashan.yaml").read_text(encoding="utf-8"))
    data["rules"]["catalog.submit_fields"]["value"] = submit_fields
    path = tmp_path / "submit_fields.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    settings.GONGSHU_RULEBOOK = str(path)


def test_the_default_rulebook_requires_the_art_12_fields_C1():
    rule = rulebook.rule("catalog.submit_fields")
    assert rule.article == "SYS Art. 12"
    assert rulebook.names("catalog.submit_fields") == (
        "name", "summary", "data_format", "industry_category", "update_frequency", "share_methods", "category")


def test_a_field_the_rulebook_drops_may_be_left_empty_C1(city, settings, tmp_path):
    officer = city.actor("officer")
    resource = draft_resource(officer, fields=entry_fields(update_frequency=""), items=entry_items())
    with pytest.raises(ValidationFailed) as exc:
        submit_resource(officer, resource)
    assert exc.value.errors == {"update_frequency": ["请填写更新频率"]}
    resource.refresh_from_db()
    assert resource.status == Resource.Status.DRAFT

    kept = [f for f in rulebook.names("catalog.submit_fields") if f != "update_frequency"]
    _rulebook(tmp_path, settings, kept)
    case = submit_resource(officer, resource)
    assert case.state == "bureau_review"


def test_a_field_the_rulebook_adds_is_required_with_its_label_C1(city, settings, tmp_path):
    officer = city.actor("officer")
    _rulebook(tmp_path, settings, list(rulebook.names("catalog.submit_fields")) + ["operation_scenarios"])
    resource = draft_resource(officer, fields=entry_fields(), items=entry_items())
    with pytest.raises(ValidationFailed) as exc:
        submit_resource(officer, resource)
    assert exc.value.errors == {"operation_scenarios": ["请填写授权运营应用场景"]}
    resource.refresh_from_db()
    assert resource.status == Resource.Status.DRAFT

    resource = draft_resource(officer, fields=entry_fields(name="另一条目", operation_scenarios="人口服务"), items=entry_items())
    assert submit_resource(officer, resource).state == "bureau_review"


def test_an_unknown_field_name_is_refused_when_the_rulebook_loads(settings, tmp_path):
    _rulebook(tmp_path, settings, ["name", "summary", "no_such_field"])
    with pytest.raises(RulebookError) as exc:
        rulebook.current()
    assert exc.value.code == "rulebook_invalid" and "no_such_field" in exc.value.message


@pytest.mark.parametrize("value", ["name, summary", [1, 2], ["name", ""]])
def test_a_field_list_that_is_not_a_list_of_names_is_refused(settings, tmp_path, value):
    _rulebook(tmp_path, settings, value)
    with pytest.raises(RulebookError):
        rulebook.current()
