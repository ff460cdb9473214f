"""Forms say what is wrong at the top and beside each field (issue 14 item 4): one summary above the form,
every error in it linked to its field, and the field's own error beside it."""

import re

import pytest

from catalog.models import Resource

pytestmark = pytest.mark.django_db


def _summary(page: str) -> str:
    found = re.search(r'<div class="flash error form-errors" role="alert" id="form-errors">(.*?)</div>', page, re.S)
    assert found, "no error summary above the form"
    return found.group(1)


def test_a_demand_with_missing_fields_is_summarised_above_the_form_S8(sign_in):
    page = sign_in("cdo_civil_affairs").post("/share/new/demand/", {"data": "婚姻登记信息"}).content.decode()
    summary = _summary(page)
    for field, label in (("id_provider", "提供部门"), ("id_scenario", "应用场景"), ("id_basis", "依据")):
        assert f'<a href="#{field}">{label}</a>' in summary
    assert 'id="id_data"' in page and "婚姻登记信息" in page  # what was given is kept
    assert page.count("errorlist") >= 3  # and each error beside its field too


def test_a_service_refusal_of_a_catalog_edit_is_summarised_with_its_field_C2(sign_in):
    """The service's field-level refusal (coverage end before start) lands on the form, in the summary and
    beside the field."""
    entry = Resource.objects.get(name="户籍人口基本信息")
    client = sign_in("officer")
    form = client.get(f"/catalog/{entry.pk}/edit/").context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.update({"share_methods": form["share_methods"].value() or [], "temporal_start": "2020-01-01", "temporal_end": "2019-01-01",
                 "category": form["category"].value() or "", "items-TOTAL_FORMS": "0", "items-INITIAL_FORMS": "0"})
    page = client.post(f"/catalog/{entry.pk}/edit/", data).content.decode()
    summary = _summary(page)
    assert '<a href="#id_temporal_end">' in summary and "覆盖时间止不能早于起" in summary
    assert Resource.objects.get(pk=entry.pk).temporal_start == entry.temporal_start  # nothing changed


def test_a_valid_form_shows_no_summary(sign_in):
    page = sign_in("cdo_civil_affairs").get("/share/new/demand/").content.decode()
    assert "form-errors" not in page
