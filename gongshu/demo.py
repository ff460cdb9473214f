"""The demo city: Shuangyashan (双鸭山市) with its bodies, one user per role and the statutory resources.

Everything is built through the services, so the demo's history is in the audit chain and its
catalog entries walked the real review workflow. Loading twice changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import random
from pathlib import Path

from django.conf import settings
from django.db import transaction

from foundation import identifiers

from core import workdays
from foundation.actor import system_actor
from core.actor import act_as
from core.models import Membership, Organisation, Region, Role, User
from core.workdays import add_months

PASSWORD = "Gongshu@2026"
CITY = ("230500", "双鸭山市")
COUNTIES = [
    ("230502", "尖山区"), ("230503", "岭东区"), ("230505", "四方台区"), ("230506", "宝山区"),
    ("230521", "集贤县"), ("230522", "友谊县"), ("230523", "宝清县"), ("230524", "饶河县"),
]
TOWNS = [("230502001", "中心站街道", "230502"), ("230502002", "窑地街道", "230502"), ("230521100", "福利镇", "230521")]
VILLAGES = [("230502001001", "和平社区", "230502001"), ("230521100201", "福利村", "230521100")]

K = Organisation.Kind
# (name, kind, sector, region code, registration authority of the USCC)
BODIES = [
    ("双鸭山市数据局", K.BUREAU, "data", "230500", "11"),
    ("双鸭山市大数据中心", K.SERVICE_CENTRE, "data", "230500", "12"),
    ("尖山区数据局", K.BUREAU, "data", "230502", "11"),
    ("双鸭山市公安局", K.AGENCY, "public_security", "230500", "11"),
    ("双鸭山市民政局", K.AGENCY, "civil_affairs", "230500", "11"),
    ("双鸭山市卫生健康委员会", K.AGENCY, "health", "230500", "11"),
    ("双鸭山市人力资源和社会保障局", K.AGENCY, "human_resources", "230500", "11"),
    ("双鸭山市医疗保障局", K.AGENCY, "medical_security", "230500", "11"),
    ("双鸭山市自然资源局", K.AGENCY, "natural_resources", "230500", "11"),
    ("双鸭山市市场监督管理局", K.AGENCY, "market_regulation", "230500", "11"),
    ("双鸭山市教育局", K.AGENCY, "education", "230500", "11"),
    ("双鸭山市残疾人联合会", K.AGENCY, "disabled_persons", "230500", "51"),
    ("双鸭山市住房公积金管理中心", K.AGENCY, "housing_fund", "230500", "12"),
    ("中共双鸭山市委机构编制委员会办公室", K.AGENCY, "establishment", "230500", "11"),
    ("双鸭山市司法局", K.AGENCY, "justice", "230500", "11"),
    ("双鸭山市民族宗教事务局", K.AGENCY, "religious_affairs", "230500", "11"),
    ("双鸭山市总工会", K.AGENCY, "trade_union", "230500", "13"),
    ("双鸭山市农业农村局", K.AGENCY, "agriculture", "230500", "11"),
    ("双鸭山市交通运输局", K.AGENCY, "transport", "230500", "11"),
    ("双鸭山市生态环境局", K.AGENCY, "environment", "230500", "11"),
    ("双鸭山市住房和城乡建设局", K.AGENCY, "housing", "230500", "11"),
    ("双鸭山市财政局", K.AGENCY, "finance", "230500", "11"),
    ("双鸭山市应急管理局", K.AGENCY, "emergency", "230500", "11"),
    ("双鸭山市统计局", K.AGENCY, "statistics", "230500", "11"),
    ("双鸭山市文化广电和旅游局", K.AGENCY, "culture", "230500", "11"),
    ("双鸭山市水务局", K.AGENCY, "water", "230500", "11"),
    ("双鸭山市发展和改革委员会", K.AGENCY, "development", "230500", "11"),
    ("双鸭山市工业和信息化局", K.AGENCY, "industry", "230500", "11"),
    ("双鸭山市退役军人事务局", K.AGENCY, "veterans", "230500", "11"),
    ("双鸭山市城市管理综合执法局", K.AGENCY, "urban_management", "230500", "11"),
    ("双鸭山市公安局尖山分局", K.AGENCY, "public_security", "230502", "11"),
    ("尖山区民政局", K.AGENCY, "civil_affairs", "230502", "11"),
    ("双鸭山市供水有限公司", K.UTILITY, "water_supply", "230500", "91"),
    ("国网双鸭山供电公司", K.UTILITY, "power", "230500", "91"),
    ("双鸭山市燃气有限公司", K.UTILITY, "gas", "230500", "91"),
    ("双鸭山市热力有限公司", K.UTILITY, "heating", "230500", "91"),
    ("中国电信股份有限公司双鸭山分公司", K.UTILITY, "telecom", "230500", "91"),
    ("双鸭山市公共交通集团有限公司", K.UTILITY, "public_transport", "230500", "91"),
    ("双鸭山数据运营有限公司", K.OPERATOR, "", "230500", "91"),
    ("龙江数智科技（双鸭山）有限公司", K.OPERATOR, "", "230500", "91"),
    ("双鸭山云图信息技术有限公司", K.DEVELOPER, "", "230500", "91"),
    ("黑龙江北疆数据科技有限公司", K.DEVELOPER, "", "230500", "91"),
    ("双鸭山惠民软件有限公司", K.DEVELOPER, "", "230502", "91"),
    ("中共双鸭山市委网络安全和信息化委员会办公室", K.SUPERVISOR, "cyberspace", "230500", "11"),
    ("双鸭山市公共数据专家委员会", K.EXPERT_COMMITTEE, "", "230500", "11"),
]
PUBLIC_ORG = "社会公众"

# username, display name, organisation, role, needs TOTP
USERS = [
    ("bureau", "王局长", "双鸭山市数据局", Role.BUREAU_ADMIN),
    ("centre", "李工", "双鸭山市大数据中心", Role.SERVICE_CENTRE_STAFF),
    ("county_bureau", "赵科长", "尖山区数据局", Role.BUREAU_ADMIN),
    ("officer", "张首席", "双鸭山市公安局", Role.DATA_OFFICER),
    ("staff", "刘干事", "双鸭山市公安局", Role.AGENCY_STAFF),
    ("operator", "陈经理", "双鸭山数据运营有限公司", Role.OPERATOR_STAFF),
    ("developer", "周工程师", "双鸭山云图信息技术有限公司", Role.DEVELOPER_STAFF),
    ("public", "孙市民", PUBLIC_ORG, Role.PUBLIC_USER),
    ("supervisor", "吴监督员", "中共双鸭山市委网络安全和信息化委员会办公室", Role.SUPERVISOR),
    ("expert", "郑教授", "双鸭山市公共数据专家委员会", Role.EXPERT),
]

_LEGAL = {
    "public_security": "《中华人民共和国居民身份证法》《中华人民共和国户口登记条例》",
    "civil_affairs": "《婚姻登记条例》",
    "health": "《中华人民共和国母婴保健法》《人口死亡信息登记管理规范》",
    "human_resources": "《中华人民共和国社会保险法》",
    "natural_resources": "《不动产登记暂行条例》",
    "market_regulation": "《中华人民共和国市场主体登记管理条例》",
}

_STRING, _DATE, _DEC, _INT = "string", "date", "decimal", "integer"


# Sensitive item columns and what they are (G4); other items take the entry's default grade.
_SENSITIVE = {
    "citizen_id": "citizen_id", "male_citizen_id": "citizen_id", "female_citizen_id": "citizen_id",
    "mother_citizen_id": "citizen_id", "father_citizen_id": "citizen_id", "owner_id": "citizen_id",
    "name": "name", "male_name": "name", "female_name": "name", "child_name": "name", "owner_name": "name",
    "legal_representative": "name", "address": "address", "location": "address",
    "uscc": "uscc", "employer_uscc": "uscc",
}


def _items(*rows, grade="general_internal", category="G1", source_type="", overrides=None):
    from grading.scheme import sensitivity_types

    types = sensitivity_types()
    items = []
    for name, column, dtype, key, req in rows:
        sensitivity = _SENSITIVE.get(column, "")
        item_grade = (overrides or {}).get(column) or (types[sensitivity].grade if sensitivity else grade)
        items.append({
            "name": name, "column": column, "data_type": dtype, "is_key": key, "required": key or req,
            "grade": item_grade, "category": types[sensitivity].category if sensitivity else category,
            "sensitivity": sensitivity, "source_type": source_type,
        })
    return items


# The statutory resources of SYS Art. 16 and a few open ones: (sector, fields, items)
RESOURCES = [
    ("public_security", {
        "category": "P1", "name": "户籍人口基本信息", "summary": "本市户籍人口的身份、户籍地址和户别信息，人口基础库的权威来源（户籍登记）。",
        "data_format": "table", "industry_category": "S", "update_frequency": "daily",
        "share_type": "conditional", "share_conditions": "仅限依法履职需要，按最小必要原则申请数据项", "share_methods": ["api", "db_sync"],
        "open_type": "not_open", "temporal_start": dt.date(1990, 1, 1),
    }, _items(("公民身份号码", "citizen_id", _STRING, True, True), ("姓名", "name", _STRING, False, True),
              ("性别", "gender", _STRING, False, True), ("出生日期", "birth_date", _DATE, False, True),
              ("民族", "ethnicity", _STRING, False, False), ("户籍地址", "address", _STRING, False, True),
              ("户号", "household_no", _STRING, False, True), ("户籍地区划代码", "region_code", _STRING, False, True), grade="general_internal", category="P1", source_type="household_registration", overrides={"citizen_id": "important"})),
    ("civil_affairs", {
        "category": "P5", "name": "婚姻登记信息", "summary": "结婚、离婚登记及补领婚姻登记证信息（婚姻登记）。",
        "data_format": "table", "industry_category": "S", "update_frequency": "daily",
        "share_type": "conditional", "share_conditions": "用于婚姻状况核验等法定职责", "share_methods": ["api"],
        "open_type": "not_open", "temporal_start": dt.date(2003, 10, 1),
    }, _items(("登记证字号", "record_no", _STRING, True, True), ("登记类别", "kind", _STRING, False, True),
              ("男方公民身份号码", "male_citizen_id", _STRING, False, True), ("男方姓名", "male_name", _STRING, False, True),
              ("女方公民身份号码", "female_citizen_id", _STRING, False, True), ("女方姓名", "female_name", _STRING, False, True),
              ("登记日期", "registered_on", _DATE, False, True), ("登记机关", "office", _STRING, False, True), grade="general_internal", category="P5", source_type="marriage")),
    ("health", {
        "category": "P4", "name": "出生医学证明信息", "summary": "新生儿出生医学证明签发信息（出生登记）。",
        "data_format": "table", "industry_category": "Q", "update_frequency": "daily",
        "share_type": "conditional", "share_conditions": "用于户口登记、社保参保等出生一件事联办", "share_methods": ["api"],
        "open_type": "not_open", "temporal_start": dt.date(2015, 1, 1),
    }, _items(("出生医学证明编号", "certificate_no", _STRING, True, True), ("新生儿姓名", "child_name", _STRING, False, True),
              ("性别", "gender", _STRING, False, True), ("出生日期", "birth_date", _DATE, False, True),
              ("母亲公民身份号码", "mother_citizen_id", _STRING, False, True), ("父亲公民身份号码", "father_citizen_id", _STRING, False, False),
              ("接生机构", "hospital", _STRING, False, True), grade="general_internal", category="P4", source_type="birth")),
    ("health", {
        "category": "P4", "name": "居民死亡医学证明信息", "summary": "居民死亡医学证明（推断）书签发信息（死亡登记）。",
        "data_format": "table", "industry_category": "Q", "update_frequency": "daily",
        "share_type": "conditional", "share_conditions": "用于户籍注销、社保停发、殡葬管理等法定职责", "share_methods": ["api"],
        "open_type": "not_open", "temporal_start": dt.date(2015, 1, 1),
    }, _items(("公民身份号码", "citizen_id", _STRING, True, True), ("姓名", "name", _STRING, False, True),
              ("死亡日期", "death_date", _DATE, False, True), ("死亡地点类别", "place", _STRING, False, True), grade="general_internal", category="P4", source_type="death")),
    ("human_resources", {
        "category": "P6", "name": "社会保险参保信息", "summary": "城镇职工基本养老、失业、工伤保险参保及缴费状态（社保）。",
        "data_format": "table", "industry_category": "S", "update_frequency": "daily",
        "share_type": "conditional", "share_conditions": "用于社保资格认定、待遇核验等法定职责", "share_methods": ["api", "file"],
        "open_type": "not_open", "temporal_start": dt.date(2000, 1, 1),
    }, _items(("公民身份号码", "citizen_id", _STRING, True, True), ("姓名", "name", _STRING, False, True),
              ("险种", "insurance_type", _STRING, True, True), ("参保单位统一社会信用代码", "employer_uscc", _STRING, False, False),
              ("参保状态", "status", _STRING, False, True), ("参保日期", "start_date", _DATE, False, True),
              ("缴费基数", "contribution_base", _DEC, False, False), grade="general_internal", category="P6", source_type="social_insurance")),
    ("natural_resources", {
        "category": "N1", "name": "不动产登记信息", "summary": "房屋、土地等不动产权利登记信息（不动产）。",
        "data_format": "table", "industry_category": "K", "update_frequency": "daily",
        "share_type": "conditional", "share_conditions": "用于不动产权属核验、税费征管等法定职责", "share_methods": ["api"],
        "open_type": "not_open", "temporal_start": dt.date(2016, 1, 1),
    }, _items(("不动产权证书号", "certificate_no", _STRING, True, True), ("权利人证件号码", "owner_id", _STRING, False, True),
              ("权利人名称", "owner_name", _STRING, False, True), ("坐落", "location", _STRING, False, True),
              ("面积（平方米）", "area", _DEC, False, True), ("用途", "use", _STRING, False, True),
              ("登记日期", "registered_on", _DATE, False, True), grade="general_internal", category="N1", source_type="real_estate")),
    ("market_regulation", {
        "category": "O1", "name": "市场主体登记信息", "summary": "企业、个体工商户、农民专业合作社登记信息（市场主体），法人库的权威来源。",
        "data_format": "table", "industry_category": "S", "update_frequency": "daily",
        "share_type": "unconditional", "share_methods": ["api", "file", "db_sync"],
        "open_type": "conditional", "open_conditions": "向社会开放名称、统一社会信用代码、类型、成立日期、住所和登记状态",
        "temporal_start": dt.date(1995, 1, 1),
    }, _items(("统一社会信用代码", "uscc", _STRING, True, True), ("名称", "entity_name", _STRING, False, True),
              ("主体类型", "entity_type", _STRING, False, True), ("法定代表人", "legal_representative", _STRING, False, True),
              ("注册资本（万元）", "registered_capital", _DEC, False, False), ("成立日期", "established_on", _DATE, False, True),
              ("住所", "address", _STRING, False, True), ("登记状态", "status", _STRING, False, True), grade="general_public", category="O1", source_type="market_entity", overrides={"legal_representative": "general_public", "address": "general_public"})),
    ("public_transport", {
        "category": "G2", "name": "公交线路与站点信息", "summary": "市区公交线路、站点位置和首末班时间。",
        "data_format": "table", "industry_category": "G", "update_frequency": "monthly",
        "share_type": "unconditional", "share_methods": ["api", "file"], "open_type": "unconditional",
    }, _items(("线路编号", "line_no", _STRING, True, True), ("线路名称", "line_name", _STRING, False, True),
              ("站点名称", "stop_name", _STRING, True, True), ("站序", "stop_seq", _INT, False, True),
              ("首班时间", "first_bus", _STRING, False, False), ("末班时间", "last_bus", _STRING, False, False), grade="general_public", category="G2")),
    ("environment", {
        "category": "N2", "name": "空气质量监测小时数据", "summary": "全市国控、省控空气质量监测站点的小时浓度与空气质量指数。",
        "data_format": "table", "industry_category": "N", "update_frequency": "realtime",
        "share_type": "unconditional", "share_methods": ["api"], "open_type": "unconditional",
    }, _items(("站点编码", "station_code", _STRING, True, True), ("监测时间", "observed_at", "datetime", True, True),
              ("PM2.5", "pm25", _DEC, False, False), ("PM10", "pm10", _DEC, False, False), ("AQI", "aqi", _INT, False, True), grade="general_public", category="N2")),
]


def _serial(name: str) -> int:
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % 10**8


def _demo_totp_key(username: str) -> str:
    return hashlib.sha1(f"gongshu-demo-{username}".encode()).hexdigest()


def _ensure_regions(actor) -> dict[str, Region]:
    from core.services import create_region

    regions = {r.code: r for r in Region.objects.all()}

    def ensure(code, name, level, parent_code):
        if code not in regions:
            regions[code] = create_region(actor, code=code, name=name, level=level, parent=regions.get(parent_code))

    ensure(*CITY, Region.Level.CITY, None)
    for code, name in COUNTIES:
        ensure(code, name, Region.Level.COUNTY, CITY[0])
    for code, name, parent in TOWNS:
        ensure(code, name, Region.Level.TOWN, parent)
    for code, name, parent in VILLAGES:
        ensure(code, name, Region.Level.VILLAGE, parent)
    return regions


def _ensure_organisations(actor, regions) -> dict[str, Organisation]:
    from core.services import create_organisation

    orgs = {o.name: o for o in Organisation.objects.all()}
    for name, kind, sector, region_code, authority in BODIES:
        if name not in orgs:
            orgs[name] = create_organisation(
                actor, name=name, kind=kind, sector=sector, region=regions[region_code],
                uscc=identifiers.make_uscc(region_code, _serial(name), authority=authority),
            )
    if PUBLIC_ORG not in orgs:
        orgs[PUBLIC_ORG] = create_organisation(actor, name=PUBLIC_ORG, kind=K.PUBLIC, region=regions[CITY[0]], uscc=None)
    return orgs


def _ensure_user(actor, username, display, org, role) -> User:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from core.services import add_membership, create_user

    user = User.objects.filter(username=username).first()
    if user is None:
        citizen_id = identifiers.make_citizen_id(org.region.code[:6], dt.date(1980, 1, 1) + dt.timedelta(days=_serial(username) % 9000), _serial(username) % 999 + 1)
        user = create_user(actor, username=username, password=PASSWORD, display_name=display, citizen_id=citizen_id)
    if not Membership.objects.filter(user=user, organisation=org, role=role).exists():
        add_membership(actor, user=user, organisation=org, role=role)
    if role in settings.GONGSHU_2FA_ROLES and not TOTPDevice.objects.filter(user=user).exists():
        TOTPDevice.objects.create(user=user, name="demo", key=_demo_totp_key(username), confirmed=True)
    return user


def current_demo_otp(username: str) -> str | None:
    import time

    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user__username=username, name="demo").first()
    if device is None:
        return None
    # a code is accepted once: when this step's code was used already (two sign-ins within one step), the
    # next step's, which the device's tolerance accepts
    now = int(time.time() - device.t0) // device.step
    drift = min(max(0, device.last_t + 1 - now), device.tolerance)
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift):0{device.digits}d}"


def demo_totp_secret(username: str) -> str:
    import base64

    return base64.b32encode(bytes.fromhex(_demo_totp_key(username))).decode()


def _publish(resource, officer, reviewers) -> None:
    """Walk a demo entry through the real review: submit → approve → verify → publish."""
    from catalog.services import submit_resource
    from workflow.services import transition

    case = submit_resource(officer, resource)
    transition(reviewers["bureau"], case, "approve", comment="符合目录编制规范")
    transition(reviewers["centre"], case, "verify", comment="已校核汇总")
    transition(reviewers["bureau"], case, "publish", comment="复核通过")


def _reviewers(orgs) -> dict:
    return {
        "bureau": act_as(User.objects.get(username="bureau"), orgs["双鸭山市数据局"].pk, channel="cli"),
        "centre": act_as(User.objects.get(username="centre"), orgs["双鸭山市大数据中心"].pk, channel="cli"),
    }


def _ensure_resources(actor, orgs) -> list:
    from catalog.models import Resource
    from catalog.services import draft_resource

    reviewers = _reviewers(orgs)
    created = []
    for sector, fields, items in RESOURCES:
        provider = next(o for o in orgs.values() if o.sector == sector and o.region.code == CITY[0])
        if Resource.objects.filter(provider=provider, name=fields["name"]).exists():
            continue
        officer_name = "officer" if sector == "public_security" else f"cdo_{sector}"
        officer_user = _ensure_user(actor, officer_name, f"{provider.short_name or provider.name}首席数据官", provider, Role.DATA_OFFICER)
        officer = act_as(officer_user, provider.pk, channel="cli")
        fields = dict(fields)
        if fields["share_type"] != "unconditional" or sector in _LEGAL:
            fields.setdefault("legal_basis", _LEGAL.get(sector, ""))
        resource = draft_resource(officer, fields=fields, items=items)
        _publish(resource, officer, reviewers)
        if sector == "public_security":
            _update_household(resource, officer, reviewers)
        created.append(resource)
    return created


def _update_household(resource, officer, reviewers) -> None:
    """A second version, as after a change of legal basis (SYS Art. 13): one more item, a new basis."""
    from catalog.services import _item_dicts, submit_resource, update_draft
    from workflow.services import transition

    items = _item_dicts(resource.items.all()) + [{
        "name": "曾用名", "column": "former_name", "data_type": "string", "grade": "general_sensitive",
        "category": "P1", "sensitivity": "name", "source_type": "household_registration",
    }]
    update_draft(officer, resource, fields={
        "legal_basis": "《中华人民共和国居民身份证法》《中华人民共和国户口登记条例》《黑龙江省户口登记管理规定》",
    }, items=items)
    case = submit_resource(officer, resource)
    transition(reviewers["bureau"], case, "publish", comment="更新内容符合规定")


def _write_rows(created) -> Path:
    """Synthetic rows for the statutory resources, identifiers with valid check digits (GBK CSV for 户籍)."""
    out = Path(settings.GONGSHU_DATA_DIR) / "demo"
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20261123)
    surnames = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
    given = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "桂兰", "建国"]
    districts = [c for c, _ in COUNTIES]
    path = out / "household_registration.csv"
    public = User.objects.get(username="public").citizen_id
    if not path.exists() or public.encode() not in path.read_bytes()[:200]:
        with path.open("w", encoding="gbk", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["公民身份号码", "姓名", "性别", "出生日期", "民族", "户籍地址", "户号", "户籍地区划代码"])
            # the demo's citizen, registered with a wrong character in the name (the correction demo fixes it)
            writer.writerow([public, "孙市明", "男" if int(public[16]) % 2 else "女", f"{public[6:10]}-{public[10:12]}-{public[12:14]}",
                             "汉族", "双鸭山市尖山区和平街1号", "H90000000", "230502"])
            for i in range(2000):
                division = rng.choice(districts)
                cid = identifiers.random_citizen_id(rng, division)
                gender = "男" if int(cid[16]) % 2 else "女"
                writer.writerow([cid, rng.choice(surnames) + rng.choice(given), gender, f"{cid[6:10]}-{cid[10:12]}-{cid[12:14]}",
                                 "汉族", f"双鸭山市{dict(COUNTIES)[division]}幸福路{rng.randint(1, 300)}号", f"H{i:08d}", division])
    path = out / "market_entity.csv"
    if not path.exists():
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["统一社会信用代码", "名称", "主体类型", "法定代表人", "注册资本（万元）", "成立日期", "住所", "登记状态"])
            for i in range(1000):
                division = rng.choice(districts)
                writer.writerow([identifiers.make_uscc(division, 30000000 + i, authority="91"), f"双鸭山市示例{i:04d}商贸有限公司",
                                 "有限责任公司", rng.choice(surnames) + rng.choice(given), rng.randint(10, 5000),
                                 f"{rng.randint(1995, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", f"双鸭山市{dict(COUNTIES)[division]}", "存续"])
    return out


_KINDS = {
    "kind": ["结婚", "离婚", "补领"], "insurance_type": ["基本养老保险", "失业保险", "工伤保险"], "status": ["正常参保", "暂停缴费", "终止"],
    "place": ["医疗卫生机构", "家中", "其他"], "use": ["住宅", "商业", "工业"], "office": ["双鸭山市尖山区民政局婚姻登记处"],
    "hospital": ["双鸭山市人民医院", "双鸭山市妇幼保健院", "宝清县人民医院"],
}


def _synthetic_rows(resource, rng: random.Random, n: int, people: list[str] | None = None) -> tuple[list[str], list[list]]:
    """Plausible rows for any entry, from its items: identifiers with valid check digits, dates that agree.
    With ``people``, the citizen-ID key is drawn from them (the same residents across sources)."""
    chosen = rng.sample(people, n) if people and len(people) >= n else None
    surnames, given = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗", ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "秀英", "桂兰"]
    districts = [c for c, _ in COUNTIES]
    items = list(resource.items.order_by("position"))
    rows = []
    for i in range(n):
        cid = chosen[i] if chosen else identifiers.random_citizen_id(rng, rng.choice(districts))
        division = cid[:6]
        row = []
        for item in items:
            column, kind = item.column, item.sensitivity
            if kind == "citizen_id":
                value = cid if item.is_key else identifiers.random_citizen_id(rng, division)
            elif kind == "name":
                value = rng.choice(surnames) + rng.choice(given)
            elif kind == "address":
                value = f"双鸭山市{dict(COUNTIES)[division]}幸福路{rng.randint(1, 300)}号"
            elif column == "gender":
                value = "男" if int(cid[16]) % 2 else "女"
            elif column == "birth_date":
                value = f"{cid[6:10]}-{cid[10:12]}-{cid[12:14]}"
            elif column == "employer_uscc":
                value = identifiers.make_uscc(division, 40000000 + i % 500, authority="91")
            elif item.data_type == "date":
                value = f"{rng.randint(2016, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            elif item.data_type in ("decimal", "integer"):
                value = str(rng.randint(30, 300) if column == "area" else rng.randint(2000, 12000))
            elif column in _KINDS:
                value = rng.choice(_KINDS[column])
            elif item.is_key:
                value = f"{column[:2].upper()}{2026}{i:08d}"
            else:
                value = ""
            row.append(value)
        rows.append(row)
    return [item.name for item in items], rows


_GENERATED = ["婚姻登记信息", "出生医学证明信息", "居民死亡医学证明信息", "社会保险参保信息", "不动产登记信息"]
_FILES = {"户籍人口基本信息": ("household_registration.csv", "gbk"), "市场主体登记信息": ("market_entity.csv", "utf-8")}


def _ingest(folder: Path, echo) -> None:
    """Aggregate the statutory resources' rows through the real ingestion channel (file upload)."""
    from catalog.models import Resource
    from warehouse.services import ingest_file

    actor = system_actor("cli")
    rng = random.Random(7)
    with (folder / _FILES["户籍人口基本信息"][0]).open(encoding="gbk") as fh:
        people = [row[0] for row in list(csv.reader(fh))[1:]]
    for name in list(_FILES) + _GENERATED:
        resource = Resource.objects.filter(name=name).first()
        if resource is None or resource.snapshots.exists():
            continue
        if name in _FILES:
            filename, _ = _FILES[name]
        else:
            filename = f"{resource.code}.csv"
            header, rows = _synthetic_rows(resource, rng, 500, people)
            with (folder / filename).open("w", encoding="utf-8", newline="") as fh:
                csv.writer(fh).writerows([header] + rows)
        batch = ingest_file(actor, resource, folder / filename)
        echo(f"  {name}: {batch.status}, {batch.rows_accepted} rows")


BASES = {
    "population": ("人口基础库", "以公民身份号码为标识，归集户籍、社会保险、死亡登记等法定数源数据形成的人口基础库。", "P1", [
        ("公民身份号码", "citizen_id", _STRING, True, True), ("姓名", "name", _STRING, False, True),
        ("性别", "gender", _STRING, False, False), ("出生日期", "birth_date", _DATE, False, False),
        ("户籍地址", "address", _STRING, False, False), ("户籍地区划代码", "region_code", _STRING, False, False),
        ("社保参保状态", "insurance_status", _STRING, False, False), ("死亡日期", "death_date", _DATE, False, False),
    ], {"citizen_id": "important"}),
    "legal_entity": ("法人基础库", "以统一社会信用代码为标识，归集市场主体登记等法定数源数据形成的法人基础库。", "O1", [
        ("统一社会信用代码", "uscc", _STRING, True, True), ("名称", "entity_name", _STRING, False, True),
        ("主体类型", "entity_type", _STRING, False, False), ("法定代表人", "legal_representative", _STRING, False, False),
        ("成立日期", "established_on", _DATE, False, False), ("住所", "address", _STRING, False, False),
        ("登记状态", "status", _STRING, False, False),
    ], {"legal_representative": "general_public", "address": "general_public"}),
}


def _ensure_bases(reviewers, echo) -> None:
    """The service centre catalogs and builds the population and legal-entity bases (A5, SYS Art. 19)."""
    from catalog.models import Resource
    from catalog.services import draft_resource
    from warehouse.bases import build

    centre = reviewers["centre"]
    for key, (name, summary, category, rows, overrides) in BASES.items():
        resource = Resource.objects.filter(name=name).first()
        if resource is None:
            resource = draft_resource(centre, fields={
                "name": name, "summary": summary, "data_format": "table", "industry_category": "S", "category": category,
                "update_frequency": "daily", "share_type": "conditional", "share_conditions": "按基础库共享规则，依法履职需要时申请",
                "share_methods": ["api"], "legal_basis": "《双鸭山市公共数据管理暂行办法》第十九条",
            }, items=_items(*rows, grade="general_internal", category=category, overrides=overrides))
            _publish(resource, centre, reviewers)
        if not resource.snapshots.exists():
            batch = build(system_actor("cli"), key)
            echo(f"  {name}: {batch.status}, {batch.rows_accepted} rows")


def load(echo=print) -> str:
    actor = system_actor("cli")
    with transaction.atomic():
        regions = _ensure_regions(actor)
        orgs = _ensure_organisations(actor, regions)
        for username, display, org_name, role in USERS:
            _ensure_user(actor, username, display, orgs[org_name], role)
    echo(f"regions: {Region.objects.count()}  organisations: {Organisation.objects.count()}  users: {User.objects.count()}")
    with transaction.atomic():
        created = _ensure_resources(actor, orgs)
    echo(f"catalog entries published now: {len(created)}")
    rows = _write_rows(created)
    echo(f"synthetic rows: {rows}")
    _ingest(rows, echo)
    _sharing(orgs, echo)
    _ensure_bases(_reviewers(orgs), echo)
    from audit.services import checkpoint

    written = checkpoint(actor, new_chain=True)  # SEC2: the demo's chain is anchored outside the data directory
    echo(f"audit checkpoint #{written.head()[0]} signed -> {written.path}")
    return summary()


def _sharing(orgs, echo) -> None:
    """The sharing walk-through (S3–S5): the civil affairs bureau asks for household data, the police
    (its source) agrees within its deadline, lookups come back masked with receipts, and a citizen's
    correction flows back as a new snapshot. Two more requests wait for their deciders."""
    from catalog.models import Resource
    from sharing import services
    from sharing.models import ShareRequest
    from warehouse.query import arrow_of, snapshot_of
    from workflow.services import transition

    if ShareRequest.objects.exists():
        return
    household = Resource.objects.get(name="户籍人口基本信息")
    civil, officer = _actor("cdo_civil_affairs"), _actor("officer")
    request = services.request_share(civil, household, scenario="婚姻登记当事人户籍核验", basis="《婚姻登记条例》第五条、第七条",
                                     method="api", items=["citizen_id", "name", "gender", "birth_date", "address"],
                                     valid_until=add_months(workdays.today(), 6))
    transition(officer, request.case, "agree", comment="符合共享条件，按最小必要原则授权")
    request.refresh_from_db()
    grant = request.grant
    people = arrow_of(snapshot_of(household)).slice(0, 5).column("citizen_id").to_pylist()
    receipts = [services.call(_actor("cdo_civil_affairs", channel="api"), grant.ref, filters={"citizen_id": p},
                              purpose=grant.purpose).audit_seq
                for p in people]
    echo(f"sharing: request {request.case.number} granted as {grant.ref}; {len(receipts)} lookups, receipts #{receipts[0]}…#{receipts[-1]}")
    public = User.objects.get(username="public")
    correction = services.raise_correction(_actor("public"), household, key={"citizen_id": public.citizen_id}, column="name",
                                           claimed_value="孙市民", reason="户口簿上的姓名为孙市民，系统登记有误", source="person")
    transition(officer, correction.case, "correct", comment="经核对户籍档案，姓名已更正")
    echo(f"correction {correction.case.number}: corrected, snapshot v{snapshot_of(household).version}")
    services.request_share(_actor("cdo_health"), Resource.objects.get(name="社会保险参保信息"), scenario="医保待遇资格核验",
                           basis="《社会保险法》", method="api", items=["citizen_id", "status"],
                           valid_until=add_months(workdays.today(), 3))
    services.request_share(_actor("cdo_civil_affairs"), Resource.objects.get(name="市场主体登记信息"), scenario="社会救助家庭经济状况核对",
                           basis="《社会救助暂行办法》第十一条", method="api", items=["uscc", "entity_name", "status"],
                           valid_until=add_months(workdays.today(), 12))


def _actor(username, channel="web"):
    return act_as(User.objects.get(username=username), channel=channel)


def summary() -> str:
    lines = ["Demo logins (password for all: %s):" % PASSWORD]
    for username, display, org_name, role in USERS:
        extra = ""
        if role in settings.GONGSHU_2FA_ROLES:
            extra = f"  TOTP secret {demo_totp_secret(username)} (or: gongshu demo otp {username})"
        lines.append(f"  {username:<14} {Role(role).label:<12} {org_name}{extra}")
    return "\n".join(lines)
