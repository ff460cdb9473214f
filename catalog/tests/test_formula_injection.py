"""Spreadsheet formula injection (SEC2, C7, A3, S4): every CSV and XLSX the platform writes — catalog exports,
batch error reports, grant file deliveries — goes through one writer (``foundation.textfiles``). Text a
spreadsheet would run as a formula is neutralised with a leading quote in CSV; in XLSX text is always a
text cell, never a formula. Numbers, and text that is a plain number, stay as they are."""

import csv
import datetime as dt
import io
import json
import random
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from catalog.models import Resource
from catalog.services import draft_resource, submit_resource
from foundation import textfiles
from foundation.identifiers import make_uscc
from core.services import issue_token
from sharing import services as sharing
from sharing.models import Grant
from warehouse.services import ingest_file
from workflow.services import transition

from .factories import entry_fields

pytestmark = pytest.mark.django_db
HOSTILE = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def _csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def _assert_neutralised(cells: list[str]) -> None:
    """Every hostile value is there, each behind one quote, so a spreadsheet shows it as text."""
    for value in HOSTILE:
        assert "'" + value in cells, value
        assert value not in cells, value


@pytest.mark.parametrize("value", HOSTILE)
def test_a_formula_like_text_is_neutralised_with_a_quote(value):
    assert textfiles.neutralise(value) == "'" + value
    assert _csv(textfiles.csv_bytes([[value]])) == [["'" + value]]


@pytest.mark.parametrize("value", [12, -3, 2.5, -0.25, Decimal("-12.50"), True, None, "-12.5", "+3", "-7", "2024-01-01",
                                   "张三", "a=b", "", dt.date(2024, 1, 2)])
def test_numbers_and_ordinary_text_are_untouched(value):
    assert textfiles.neutralise(value) == value
    expected = "" if value is None else str(value)
    assert _csv(textfiles.csv_bytes([[value]])) == [[expected]]


def test_xlsx_writes_text_as_text_never_as_a_formula():
    body = textfiles.xlsx_bytes([["名称", "值"], *[[f"v{i}", value] for i, value in enumerate(HOSTILE)], ["数", -2],
                                 ["小数", 2.5], ["负数文本", "-12.5"]], sheet="检查")
    sheet = load_workbook(io.BytesIO(body))["检查"]
    cells = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
    for i, value in enumerate(HOSTILE):
        cell = cells[f"v{i}"]
        # the text, kept as text (XML reads a bare CR back as a line feed: the cell is still text)
        assert (cell.value, cell.data_type, cell.quotePrefix) == (value.replace("\r", "\n"), "s", True)
    assert (cells["数"].value, cells["数"].data_type) == (-2, "n")
    assert (cells["小数"].value, cells["小数"].data_type) == (2.5, "n")
    assert (cells["负数文本"].value, cells["负数文本"].data_type, cells["负数文本"].quotePrefix) == ("-12.5", "s", False)


# --- every writer, as users get the files ------------------------------------------------------------


@pytest.fixture
def hostile_entry(city):
    """A published entry whose text fields a provider filled with formulas (C7 exports carry them)."""
    officer = city.actor("officer")
    entry = draft_resource(officer, fields=entry_fields(
        name="@SUM(A1)", summary='=HYPERLINK("http://x","y")', share_conditions="+1+1", legal_basis="-2+3",
    ), items=[{"name": "=1+2", "column": "code", "data_type": "string", "is_key": True, "required": True,
               "category": "G1", "grade": "general_internal"}])
    case = submit_resource(officer, entry)
    transition(city.actor("bureau"), case, "approve")
    transition(city.actor("centre"), case, "verify")
    transition(city.actor("bureau"), case, "publish")
    return entry


def test_the_catalog_csv_and_xlsx_exports_neutralise_formulas_C7(client, city, hostile_entry):
    client.force_login(city.user("officer"))
    rows = _csv(client.get("/catalog.csv").content)
    header, row = rows[0], next(r for r in rows if r[0] == hostile_entry.code)
    assert row[header.index("数据资源名称")] == "'@SUM(A1)"
    assert row[header.index("数据资源摘要")] == "'" + '=HYPERLINK("http://x","y")'
    assert row[header.index("共享条件")] == "'+1+1"
    assert row[header.index("法律法规依据")] == "'-2+3"
    assert row[header.index("数据项")] == "'=1+2（字符型）"
    assert row[header.index("版本")] == "1"  # a number stays a number

    sheet = load_workbook(io.BytesIO(client.get("/catalog.xlsx").content))["公共数据资源目录"]
    titles = [c.value for c in sheet[1]]
    found = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == hostile_entry.code)
    for title, value in (("数据资源名称", "@SUM(A1)"), ("数据资源摘要", '=HYPERLINK("http://x","y")'), ("数据项", "=1+2（字符型）")):
        cell = found[titles.index(title)]
        assert (cell.value, cell.data_type) == (value, "s")  # never a formula
    assert found[titles.index("版本")].data_type == "n"


def test_the_batch_error_report_neutralises_the_providers_bad_values_A3(client, city, tmp_path):
    household = Resource.objects.get(name="户籍人口基本信息")
    from gongshu.demo import _synthetic_rows

    _, rows = _synthetic_rows(household, random.Random(6), 10)
    columns = [i.column for i in household.items.order_by("position")]
    records = [dict(zip(columns, row)) for row in rows]
    for record, value in zip(records, HOSTILE):
        record["birth_date"] = value  # not a date: each one is a problem row, reported with its value
    path = tmp_path / "户籍.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    batch = ingest_file(city.actor("officer"), household, path)
    assert batch.status == "refused" and batch.issues.filter(column="birth_date").count() >= len(HOSTILE)
    client.force_login(city.user("officer"))
    report = _csv(client.get(f"/data/batches/{batch.pk}/report.csv").content)
    assert report[0] == ["行号", "数据项", "字段名", "值", "规则", "说明", "状态"]
    _assert_neutralised([row[3] for row in report[1:]])
    assert all(row[0].isdigit() for row in report[1:])  # row numbers untouched


def test_a_grant_file_delivery_neutralises_formulas_and_keeps_numbers_S4(client, city, tmp_path):
    entities = Resource.objects.get(name="市场主体登记信息")
    records = [{"uscc": make_uscc("230502", 50000000 + i, authority="91"), "entity_name": f"双鸭山市示例{i}有限公司",
                "entity_type": "有限责任公司", "legal_representative": "王伟", "registered_capital": str(100 + i),
                "established_on": "2020-01-01", "address": "双鸭山市尖山区", "status": "存续"} for i in range(20)]
    for record, value in zip(records, HOSTILE):
        record["entity_name"] = value
    records[10]["registered_capital"] = "-12.5"
    path = tmp_path / "主体.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    batch = ingest_file(city.actor("cdo_market_regulation"), entities, path)
    assert batch.status == "published", (batch.message, list(batch.issues.values_list("row", "column", "rule", "value")))

    request = sharing.request_share(city.actor("cdo_health"), entities, scenario="医疗机构资质核验", basis="《医疗机构管理条例》",
                                    method="file", items=["uscc", "entity_name", "registered_capital"],
                                    valid_until=timezone.localdate() + dt.timedelta(days=30))
    transition(city.actor("bureau"), request.case, "approve")
    grant = Grant.objects.get(request=request)
    token = issue_token(city.actor("cdo_health"), name="交付", scopes=["read"])[1]
    response = client.get(f"/api/v1/share/{grant.ref}/delivery", {"purpose": grant.purpose},
                          HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    delivered = _csv(response.content)
    assert delivered[0] == ["uscc", "entity_name", "registered_capital"]
    _assert_neutralised([row[1] for row in delivered[1:]])
    capitals = {row[2] for row in delivered[1:]}
    assert "-12.5" in capitals and not any(c.startswith("'") for c in capitals)  # numbers untouched


def test_a_workbook_has_a_frozen_header_and_columns_as_wide_as_their_cells():
    """Issue 14 item 6: the exports open readable: the header row stays in view, and each column is as wide
    as its widest cell (a Chinese character counts double), up to a limit."""
    import io

    from openpyxl import load_workbook

    body = textfiles.xlsx_bytes([["名称", "说明"], ["户籍人口基本信息", "x" * 200], ["ab", "cd"]], sheet="目录")
    sheet = load_workbook(io.BytesIO(body))["目录"]
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width == len("户籍人口基本信息") * 2 + 2
    assert sheet.column_dimensions["B"].width == textfiles.XLSX_WIDEST
