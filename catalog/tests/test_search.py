"""C7: Chinese search that finds the demo resources by name, summary and item names, ranked and filtered,
the same on SQLite and PostgreSQL."""

import pytest

from catalog import search
from catalog.selectors import catalog_list
from catalog.services import draft_resource

from .factories import entry_fields, entry_items

pytestmark = pytest.mark.django_db


def _names(actor, q, **filters):
    """The demo city's entries found (the small city of the unit tests publishes its own beside them)."""
    return [r.name for r in catalog_list(actor, q=q, **filters) if r.provider.region.path.startswith("/230500/")]


@pytest.mark.parametrize(
    ("query", "expected"),
    [("户籍", "户籍人口基本信息"), ("社保", "社会保险参保信息"), ("不动产", "不动产登记信息"),
     ("市场主体", "市场主体登记信息"), ("医学证明", "出生医学证明信息"), ("公交 站点", "公交线路与站点信息")],
)
def test_chinese_queries_find_the_statutory_resources(city, query, expected):
    assert expected in _names(city.actor("public"), query)


def test_abbreviations_are_spelled_out(city):
    # 社保 is not in "社会保险参保信息"; the synonym list knows it means 社会保险.
    assert "社会保险参保信息" in _names(city.actor("public"), "社保")
    assert "户籍人口基本信息" in _names(city.actor("public"), "户口")


def test_item_names_are_searched(city):
    # 曾用名 is only an item of the household registration entry (added in its second version).
    assert _names(city.actor("public"), "曾用名") == ["户籍人口基本信息"]


def test_a_name_match_ranks_above_a_summary_match(city):
    officer = city.actor("officer")
    draft_resource(officer, fields=entry_fields(name="流动人口信息", summary="与户籍无关的摘要户籍"), items=entry_items())
    names = _names(officer, "户籍")
    assert names.index("户籍人口基本信息") < names.index("流动人口信息")


def test_every_term_must_match(city):
    assert _names(city.actor("public"), "户籍 不动产") == []


def test_filters(city):
    public = city.actor("public")
    assert set(_names(public, "", share_type="unconditional")) >= {"市场主体登记信息", "公交线路与站点信息"}
    assert "户籍人口基本信息" not in _names(public, "", share_type="unconditional")
    assert sorted(_names(public, "", grade="important")) == ["人口基础库", "户籍人口基本信息"]
    assert "空气质量监测小时数据" in _names(public, "", open_type="unconditional", category="N")
    assert _names(public, "户籍", provider=city.civil.pk) == []
    assert _names(public, "", region="230502") == []  # no county agency has published yet


def test_drafts_are_searchable_only_by_those_who_may_see_them(city):
    officer = city.actor("officer")
    draft_resource(officer, fields=entry_fields(name="草稿中的流动人口"), items=entry_items())
    assert "草稿中的流动人口" in _names(officer, "流动人口")
    assert "草稿中的流动人口" not in _names(city.actor("cdo_civil_affairs"), "流动人口")


def test_terms():
    assert search.query_terms("户籍人口") == ["户籍", "籍人", "人口"]
    assert search.query_terms("户") == ["户"]
    assert search.query_terms("PM2.5 空气") == ["pm2", "5", "空气"]
