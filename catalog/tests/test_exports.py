"""C7: the published catalog as DCAT-AP 3 JSON-LD a standard RDF library parses, CSV/XLSX with Chinese
headers that Excel opens, and a CKAN-compatible read API."""

import csv
import io
import json

import pytest
import rdflib
from click.testing import CliRunner
from openpyxl import load_workbook

from catalog.models import Resource
from gongshu.cli import main

pytestmark = pytest.mark.django_db
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
DCT = rdflib.Namespace("http://purl.org/dc/terms/")


def _login(client, city, username="officer"):
    client.force_login(city.user(username))


def _graph(data: bytes) -> rdflib.Graph:
    return rdflib.Graph().parse(data=data, format="json-ld")


def test_dcat_json_ld_has_one_dataset_per_published_entry(client, city):
    _login(client, city)
    response = client.get("/catalog.jsonld")
    assert response["Content-Type"].startswith("application/ld+json")
    graph = _graph(response.content)
    datasets = set(graph.subjects(rdflib.RDF.type, DCAT.Dataset))
    assert len(datasets) == Resource.objects.filter(published_version__isnull=False).count()
    household = next(d for d in datasets if str(graph.value(d, DCT.identifier)) ==
                     Resource.objects.get(name="户籍人口基本信息").code)
    title = graph.value(household, DCT.title)
    assert (str(title), title.language) == ("户籍人口基本信息", "zh")
    publisher = graph.value(household, DCT.publisher)
    assert str(graph.value(publisher, rdflib.Namespace("http://xmlns.com/foaf/0.1/").name)) == "双鸭山市公安局"
    assert str(graph.value(household, DCT.accessRights)).endswith("/NON_PUBLIC")
    assert str(graph.value(household, DCT.accrualPeriodicity)).endswith("/DAILY")
    period = graph.value(household, DCT.temporal)
    assert str(graph.value(period, DCAT.startDate)) == "1990-01-01"
    assert graph.value(household, DCAT.theme) is not None
    assert len(list(graph.objects(household, DCAT.distribution))) == 2  # api + db_sync


def test_the_version_in_force_is_exported_not_the_working_copy(client, city):
    from catalog.services import update_draft

    household = Resource.objects.get(name="户籍人口基本信息")
    update_draft(city.actor("officer"), household, fields={"name": "改名中的户籍"})
    _login(client, city)
    graph = _graph(client.get("/catalog.jsonld").content)
    titles = {str(t) for t in graph.objects(None, DCT.title)}
    assert "户籍人口基本信息" in titles and "改名中的户籍" not in titles


def test_anonymous_visitors_see_only_entries_open_to_society(client):
    graph = _graph(client.get("/catalog.jsonld").content)
    titles = {str(graph.value(d, DCT.title)) for d in graph.subjects(rdflib.RDF.type, DCAT.Dataset)}
    assert titles == {"市场主体登记信息", "公交线路与站点信息", "空气质量监测小时数据"}


def test_csv_has_a_bom_and_chinese_headers(client, city):
    _login(client, city)
    body = client.get("/catalog.csv").content
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["目录编码", "数据资源名称", "数据资源摘要"]
    assert "数据资源提供方代码" in rows[0] and "是否向社会开放" in rows[0]
    household = next(r for r in rows if r[1] == "户籍人口基本信息")
    assert "有条件共享" in household and "公民身份号码（字符型）" in household[rows[0].index("数据项")]


def test_xlsx_opens_with_chinese_headers(client, city):
    _login(client, city)
    workbook = load_workbook(io.BytesIO(client.get("/catalog.xlsx").content), read_only=True)
    sheet = workbook["公共数据资源目录"]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert header[1] == "数据资源名称"
    assert len(list(sheet.iter_rows())) == Resource.objects.filter(published_version__isnull=False).count() + 1


def test_unknown_format_is_a_clear_404(client):
    response = client.get("/catalog.pdf")
    assert response.status_code == 404


@pytest.mark.parametrize("fmt", ["jsonld", "csv", "xlsx"])
def test_cli_export(tmp_path, fmt):
    out = tmp_path / f"catalog.{fmt}"
    result = CliRunner().invoke(main, ["catalog", "export", "--format", fmt, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 1000
    if fmt == "jsonld":
        assert len(set(_graph(out.read_bytes()).subjects(rdflib.RDF.type, DCAT.Dataset))) >= 9


def test_ckan_style_api(client, city):
    _login(client, city)
    listing = client.get("/api/3/action/package_list").json()
    assert listing["success"] and len(listing["result"]) >= 9
    found = client.get("/api/3/action/package_search", {"q": "不动产", "rows": 5}).json()["result"]
    assert found["count"] == 1 and found["results"][0]["title"] == "不动产登记信息"
    package = client.get("/api/3/action/package_show", {"id": found["results"][0]["id"]}).json()["result"]
    assert package["organization"]["title"] == "双鸭山市自然资源局"
    assert {"key": "share_type", "value": "有条件共享"} in package["extras"]
    missing = client.get("/api/3/action/package_show", {"id": "nope"})
    assert missing.status_code == 404 and missing.json()["success"] is False


def test_ckan_search_is_public_for_open_entries_only(client):
    found = client.get("/api/3/action/package_search", {"q": "户籍"}).json()["result"]
    assert found["count"] == 0
    assert json.loads(client.get("/api/3/action/package_search", {"q": "公交"}).content)["result"]["count"] == 1
