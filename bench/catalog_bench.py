"""Catalog at 10 000 entries: Chinese search through the bigram index vs a plain LIKE scan,
and the DCAT JSON-LD export vs dumping the same rows as plain JSON."""

from __future__ import annotations

import json
import random
import time

from django.db.models import F, Q
from django.utils import timezone

from catalog import exports, search, selectors
from catalog.models import DataItem, Resource, ResourceVersion
from catalog.services import _current_fields, version_data
from foundation.actor import system_actor
from core.models import Organisation

ENTRIES = 10_000
QUERIES = ["户籍", "社会保险", "不动产", "公交站点", "企业信用", "学校", "医疗机构", "空气质量", "低保", "养老"]
# A catalog's vocabulary: what city agencies name their resources with (a real one is larger still).
WORDS = (
    "户籍 人口 社会保险 参保 不动产 登记 市场主体 企业 信用 公交 站点 学校 招生 医疗 机构 空气 质量 监测 低保 养老 服务 补贴 "
    "车辆 道路 供水 用电 燃气 供热 通信 基站 婚姻 出生 死亡 殡葬 残疾人 公积金 税务 发票 海关 口岸 农业 种植 养殖 林业 草原 "
    "水利 河道 水库 气象 降水 地震 应急 救援 消防 安全生产 危险化学品 矿山 煤矿 电力 能源 价格 统计 经济 财政 预算 审计 "
    "采购 招标 工程 建设 规划 土地 测绘 地名 门牌 住房 保障房 物业 城管 环卫 垃圾 污水 噪声 排污 许可 执法 处罚 案件 法院 "
    "检察 公证 律师 调解 信访 投诉 举报 退役军人 优抚 民族 宗教 文物 旅游 景区 酒店 体育 场馆 图书馆 博物馆 广播 电视 新闻 "
    "出版 药品 疫苗 食品 餐饮 卫生 健康 医院 诊所 医保 结算 就业 失业 培训 职业 技能 工资 劳动 仲裁 工会 妇女 儿童 老年人 "
    "志愿者 慈善 社会组织 基金会 社区 村委会 网格 人员 车辆 停车 交通 信号 路况 公路 桥梁 铁路 航班 港口 快递 邮政"
).split()


def _generate() -> None:
    rng = random.Random(42)
    providers = list(Organisation.objects.filter(kind__in=["agency", "utility"]))
    now = timezone.now()
    batch = []
    for i in range(ENTRIES):
        provider = rng.choice(providers)
        name = "".join(rng.sample(WORDS, 2)) + "信息"
        batch.append(Resource(
            code=f"BENCH-{i:06d}", name=name, summary="".join(rng.sample(WORDS, 6)) + "等数据。", data_format="table",
            industry_category="S", spatial_coverage=provider.region, update_frequency="monthly", provider=provider,
            share_type=rng.choice(["unconditional", "conditional"]), share_methods=["api"], status="published",
            version=1, published_version=1, published_at=now,
        ))
    Resource.objects.bulk_create(batch, batch_size=2000)
    resources = list(Resource.objects.filter(code__startswith="BENCH-").select_related("provider", "spatial_coverage"))
    items = [DataItem(resource=r, position=j, name=rng.choice(WORDS) + f"字段{j}", column=f"c{j}") for r in resources for j in range(6)]
    DataItem.objects.bulk_create(items, batch_size=5000)
    ResourceVersion.objects.bulk_create(
        [ResourceVersion(resource=r, number=1, data=version_data(r, _current_fields(r), [{"name": f"字段{j}", "column": f"c{j}", "data_type": "string"} for j in range(6)]),
                         published_at=now) for r in resources],
        batch_size=2000,
    )
    search.index_many(Resource.objects.filter(code__startswith="BENCH-"))


def _per_second(fn, rounds: int) -> float:
    started = time.perf_counter()
    for i in range(rounds):
        fn(QUERIES[i % len(QUERIES)])
    return rounds / (time.perf_counter() - started)


def run():
    _generate()
    actor = system_actor("bench")

    def ours(q):
        return selectors.catalog_list(actor, q=q)

    def plain(q):
        return list(Resource.objects.filter(Q(name__icontains=q) | Q(summary__icontains=q) | Q(items__name__icontains=q)).distinct()[:100])

    from core.actor import act_as
    from core.models import User

    agency = act_as(User.objects.get(username="officer"), channel="bench")

    def ours_agency(q):
        return selectors.catalog_list(agency, q=q)

    ours(QUERIES[0]), plain(QUERIES[0])  # warm
    ours_rate, plain_rate = _per_second(ours, 60), _per_second(plain, 60)
    agency_rate = _per_second(ours_agency, 60)

    started = time.perf_counter()
    document = exports.dcat_catalog(exports.published(selectors.restrict(actor)), base="http://bench", title="目录")
    json.dumps(document, ensure_ascii=False)
    dcat_seconds = time.perf_counter() - started
    started = time.perf_counter()
    rows = list(ResourceVersion.objects.filter(number=F("resource__published_version")).values("resource__code", "data"))
    json.dumps(rows, ensure_ascii=False, default=str)
    plain_seconds = time.perf_counter() - started
    count = len(document["dcat:dataset"])
    return [
        (f"catalog search, {ENTRIES // 1000}k entries (bigram index) vs LIKE scan", ours_rate, plain_rate, "q/s"),
        ("  the same, as an agency (visibility filter) vs LIKE scan", agency_rate, plain_rate, "q/s"),
        (f"DCAT JSON-LD export of {count} entries vs plain JSON dump", count / dcat_seconds, count / plain_seconds, "/s"),
    ]
