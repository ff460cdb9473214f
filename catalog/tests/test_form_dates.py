"""Forms keep what they are given (issue 14 item 4): the coverage dates of an entry survive an edit."""

import re

import pytest

from catalog.models import Resource

pytestmark = pytest.mark.django_db


def _value(page: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    found = tag and re.search(r'value="([^"]*)"', tag.group(0))
    return found.group(1) if found else None


def test_the_edit_form_offers_the_coverage_dates_as_the_date_picker_takes_them_C2(sign_in):
    """zh-Hans formats a date 1990/01/01, which an <input type="date"> drops: the start date came back empty
    and an edit erased it. The form gives the ISO date, and reads it back."""
    entry = Resource.objects.get(name="户籍人口基本信息")
    assert entry.temporal_start is not None
    page = sign_in("officer").get(f"/catalog/{entry.pk}/edit/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert _value(page, "temporal_start") == entry.temporal_start.isoformat()
    if entry.temporal_end:
        assert _value(page, "temporal_end") == entry.temporal_end.isoformat()

    from catalog.forms import ResourceForm

    bound = ResourceForm({"name": entry.name, "temporal_start": _value(page, "temporal_start")}, instance=entry)
    bound.is_valid()  # other fields may be missing here: only the date's own reading is looked at
    assert "temporal_start" not in bound.errors and bound.cleaned_data["temporal_start"] == entry.temporal_start
