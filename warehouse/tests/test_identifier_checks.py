"""Quality that does not depend on metadata being complete (issue 14 item 5, A3): a column of citizen IDs is
checked by check digit though its item's sensitivity was never set, found by what it is called or by the
batch's values; another 18-digit number is not taken for one."""

import csv

import pytest

from gongshu import factories
from warehouse.models import QualityIssue
from warehouse.services import ingest_file

pytestmark = pytest.mark.django_db


def _entry(small_city, column, name):
    items = factories.household_items()
    for item in items:
        item["sensitivity"] = ""  # nobody set it
        if item["column"] == "citizen_id":
            item.update(column=column, name=name)
    return factories.published_resource(small_city.police, items=items, name=f"{small_city.region.name}{name}台账")


def _gbk_csv(tmp_path, resource, rows, *, bad=()):
    names = [i.name for i in resource.items.all()]
    columns = [i.column for i in resource.items.all()]
    path = tmp_path / "batch.csv"
    with path.open("w", encoding="gbk", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        for n, row in enumerate(rows):
            row = dict(row)
            key = row.pop("citizen_id")
            if n in bad:
                key = key[:17] + ("0" if key[17] != "0" else "1")  # a wrong check digit
            row[columns[0]] = key
            writer.writerow([row.get(c, "") for c in columns])
    return path


@pytest.mark.parametrize(("column", "name"), [("sfzh", "身份证号"), ("pid", "证件编号")])
def test_a_bad_check_digit_is_found_though_the_item_says_nothing_A3(tmp_path, small_city, column, name):
    """身份证号 is one of the citizen ID's names in the rulebook; 证件编号 is not, and its values tell."""
    resource = _entry(small_city, column, name)
    rows = factories.household_rows(200, seed=7)
    batch = ingest_file(small_city.actor("officer"), resource, _gbk_csv(tmp_path, resource, rows, bad={3}))
    assert batch.encoding.lower() in ("gbk", "gb18030") and batch.status == "published"
    (issue,) = QualityIssue.objects.filter(batch=batch, rule="check_digit")
    assert issue.column == column and issue.row == 5  # the header is row 1


def test_another_18_digit_number_is_not_checked_as_a_citizen_id_A3(tmp_path, small_city):
    """A column of 18-digit numbers whose check digits are mostly wrong is another kind of number."""
    resource = _entry(small_city, "serial", "业务流水号")
    rows = factories.household_rows(50, seed=8)
    for i, row in enumerate(rows):
        row["citizen_id"] = f"{230602198001010000 + i * 7919:018d}"
    batch = ingest_file(small_city.actor("officer"), resource, _gbk_csv(tmp_path, resource, rows))
    assert not QualityIssue.objects.filter(batch=batch, rule="check_digit").exists()
