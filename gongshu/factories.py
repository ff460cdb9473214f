"""Test factories: a small city built through the platform's services. Imported only by tests.

Unit tests that do not need the demo's content use ``small_city()`` (the ``small_city`` fixture of the
root conftest) instead of the demo city: Daqing (大庆市, 230600) with one county (萨尔图区, 230602), the few
bodies a workflow needs and one user per role. It lives beside the demo city, which stays loaded in the
test database, without clashing: its own regions, organisations named 大庆…/萨尔图区…, usernames prefixed
``dq_``, USCCs and citizen IDs drawn from its own division codes. Everything is made as the demo makes it
(gongshu/demo.py): by the services, as ``system_actor("test")``, so its creation is on the audit chain, and
its catalog entry walks the real review workflow. Names are fixed, so building it twice gives the same city.
"""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.test import override_settings

from core.actor import act_as
from core.models import Membership, Organisation, Region, Role, User
from foundation import identifiers
from foundation.actor import system_actor
from gongshu import demo

PREFIX = "dq_"
CITY = ("230600", "大庆市")
COUNTY = ("230602", "萨尔图区")
K = Organisation.Kind


def _actor():
    return system_actor("test")


def region(code: str = CITY[0], name: str = CITY[1], *, level: str | None = None, parent: Region | None = None) -> Region:
    """A region (the city by default; a county when ``parent`` is given and no level)."""
    if level is None:
        level = Region.LEVEL_ORDER[Region.LEVEL_ORDER.index(parent.level) + 1] if parent else Region.Level.CITY
    from core.services import create_region

    return create_region(_actor(), code=code, name=name, level=level, parent=parent)


def organisation(kind: str, sector: str, region: Region, *, name: str | None = None, authority: str | None = None,
                 short_name: str = "") -> Organisation:
    """An organisation with a valid USCC (as the demo's: the region's code, a serial from the name)."""
    from core.services import create_organisation

    name = name or f"{region.name}{sector or kind}"
    if kind == K.PUBLIC:
        uscc = None
    else:
        authority = authority or ("91" if kind in (K.UTILITY, K.OPERATOR, K.DEVELOPER) else "11")
        uscc = identifiers.make_uscc(region.code[:6], demo._serial(name), authority=authority)
    return create_organisation(_actor(), name=name, kind=kind, sector=sector, region=region, uscc=uscc, short_name=short_name)


class QuickArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 at its lowest cost: the password is hashed in about a millisecond instead of a tenth of a second
    (nine users per test), and the hash is an ordinary argon2 one that the platform's hasher verifies (and
    upgrades to its own cost at the first sign-in)."""

    time_cost, memory_cost, parallelism = 1, 8, 1


def user(organisation: Organisation, role: str, *, username: str, display_name: str = "") -> User:
    """A user with one membership, a valid citizen ID and the demo password (gongshu.demo.PASSWORD); an admin
    (settings GONGSHU_2FA_ROLES) gets a confirmed TOTP device, as the demo's users do (its ``_ensure_user``)."""
    with override_settings(PASSWORD_HASHERS=["gongshu.factories.QuickArgon2PasswordHasher"]):
        return demo._ensure_user(_actor(), username, display_name or username, organisation, role)


def _member(organisation: Organisation, roles) -> User:
    membership = Membership.objects.filter(organisation=organisation, role__in=roles).select_related("user").order_by("pk").first()
    if membership is None:
        raise LookupError(f"{organisation.name} 没有角色为 {'/'.join(roles)} 的用户")
    return membership.user


HOUSEHOLD_FIELDS = {
    "category": "P1", "name": "大庆市户籍人口基本信息", "summary": "大庆市户籍人口的身份、户籍地址和户别信息（户籍登记）。",
    "data_format": "table", "industry_category": "S", "update_frequency": "daily",
    "share_type": "conditional", "share_conditions": "仅限依法履职需要，按最小必要原则申请数据项", "share_methods": ["api", "db_sync"],
    "open_type": "not_open", "temporal_start": dt.date(1990, 1, 1),
    "legal_basis": "《中华人民共和国居民身份证法》《中华人民共和国户口登记条例》",
}


def household_items() -> list[dict]:
    """The demo's household items (its 户籍人口基本信息 entry): the citizen-ID key graded important, the
    name general_sensitive, so a reader other than the owner sees them masked."""
    S, D = "string", "date"
    return demo._items(("公民身份号码", "citizen_id", S, True, True), ("姓名", "name", S, False, True),
                       ("性别", "gender", S, False, True), ("出生日期", "birth_date", D, False, True),
                       ("户籍地址", "address", S, False, True), ("户籍地区划代码", "region_code", S, False, True),
                       grade="general_internal", category="P1", source_type="household_registration",
                       overrides={"citizen_id": "important"})


def household_rows(n: int, *, division: str = COUNTY[0], seed: int = 20260600) -> list[dict]:
    """``n`` plausible household rows (valid citizen IDs, birth dates and genders that agree), deterministic."""
    rng = random.Random(seed)
    surnames, given = "王李张刘陈杨赵黄", ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊"]
    rows = []
    for _ in range(n):
        cid = identifiers.random_citizen_id(rng, division)
        rows.append({"citizen_id": cid, "name": rng.choice(surnames) + rng.choice(given),
                     "gender": "男" if int(cid[16]) % 2 else "女", "birth_date": f"{cid[6:10]}-{cid[10:12]}-{cid[12:14]}",
                     "address": f"大庆市萨尔图区中央大街{rng.randint(1, 300)}号", "region_code": division})
    return rows


def _review(case) -> None:
    """Walk a submitted entry through the real review (SYS Art. 12): each step decided by a member of the
    organisation the case is assigned to, approve → verify → publish as the demo's ``_publish`` does."""
    from workflow.services import available_transitions, transition

    for _ in range(6):
        if case.closed_at is not None or case.assignee is None:
            return
        decider = act_as(_member(case.assignee, (Role.BUREAU_ADMIN, Role.SERVICE_CENTRE_STAFF)), case.assignee.pk, channel="cli")
        names = {t.name for t in available_transitions(decider, case)}
        step = next((s for s in ("publish", "verify", "approve") if s in names), None)
        if step is None:
            return
        case = transition(decider, case, step, comment="测试审核通过")


def published_resource(provider: Organisation, *, fields: dict | None = None, items: list[dict] | None = None,
                       rows: int | list[dict] | None = None, **overrides):
    """A catalog entry of ``provider`` drafted by its data officer, published through the review workflow;
    with ``rows`` (a count of household rows, or the rows as dicts of column → value) a snapshot ingested
    through warehouse.services.ingest_table. Defaults: the household entry and its items."""
    from catalog.services import draft_resource, submit_resource
    from warehouse.services import ingest_table

    officer = act_as(_member(provider, (Role.DATA_OFFICER, Role.SERVICE_CENTRE_STAFF)), provider.pk, channel="cli")
    fields = {**(fields or HOUSEHOLD_FIELDS), **overrides}
    resource = draft_resource(officer, fields=fields, items=items or household_items())
    _review(submit_resource(officer, resource))
    resource.refresh_from_db()
    if rows:
        rows = household_rows(rows) if isinstance(rows, int) else rows
        columns = [item.column for item in resource.items.order_by("position")]
        table = pa.table({c: [r.get(c) for r in rows] for c in columns})
        batch = ingest_table(_actor(), resource, table, channel="api")
        if batch.status != batch.Status.PUBLISHED:
            raise AssertionError(f"{resource.name}: snapshot refused: {batch.status_reason}")
    return resource


class SmallCity:
    """Handles on the small city, as the ``city`` fixture's on the demo: ``user("officer")`` is ``dq_officer``.
    ``household``, the police's published entry with its snapshot, is made when first asked for (most tests
    of the case engine never need it, and it is most of the city's cost)."""

    prefix = PREFIX

    def __init__(self, *, rows: int, **parts):
        self.__dict__.update(parts)
        self._rows, self._household = rows, None

    @property
    def household(self):
        if self._household is None:
            self._household = published_resource(self.police, rows=self._rows)
        return self._household

    def username(self, name: str) -> str:
        return name if name.startswith(self.prefix) else self.prefix + name

    def user(self, username: str) -> User:
        return User.objects.get(username=self.username(username))

    def actor(self, username: str, organisation: Organisation | None = None, channel: str = "web"):
        return act_as(self.user(username), organisation.pk if organisation else None, channel=channel)


# (attribute, name, kind, sector, in the county) and (username without the prefix, display name, organisation
# attribute, role): one user per role, under the demo's usernames (cdo_civil for its cdo_civil_affairs)
BODIES = [
    ("bureau", "大庆市数据局", K.BUREAU, "data", False),
    ("centre", "大庆市大数据中心", K.SERVICE_CENTRE, "data", False),
    ("county_bureau", "萨尔图区数据局", K.BUREAU, "data", True),
    ("police", "大庆市公安局", K.AGENCY, "public_security", False),
    ("civil", "大庆市民政局", K.AGENCY, "civil_affairs", False),
    ("county_civil", "萨尔图区民政局", K.AGENCY, "civil_affairs", True),
    ("operator", "大庆数据运营有限公司", K.OPERATOR, "", False),
    ("developer_body", "大庆油城信息技术有限公司", K.DEVELOPER, "", False),
    ("supervisor_body", "中共大庆市委网络安全和信息化委员会办公室", K.SUPERVISOR, "cyberspace", False),
    ("public_body", "大庆市社会公众", K.PUBLIC, "", False),
    ("expert_body", "大庆市公共数据专家委员会", K.EXPERT_COMMITTEE, "", False),
]
USERS = [
    ("bureau", "钱局长", "bureau", Role.BUREAU_ADMIN),
    ("centre", "冯工", "centre", Role.SERVICE_CENTRE_STAFF),
    ("county_bureau", "韩科长", "county_bureau", Role.BUREAU_ADMIN),
    ("officer", "卫首席", "police", Role.DATA_OFFICER),
    ("staff", "蒋干事", "police", Role.AGENCY_STAFF),
    ("cdo_civil", "沈首席", "civil", Role.DATA_OFFICER),
    ("operator", "杨经理", "operator", Role.OPERATOR_STAFF),
    ("developer", "朱工程师", "developer_body", Role.DEVELOPER_STAFF),
    ("supervisor", "秦监督员", "supervisor_body", Role.SUPERVISOR),
    ("public", "许市民", "public_body", Role.PUBLIC_USER),
    ("expert", "何教授", "expert_body", Role.EXPERT),
]


def built_small_city() -> SmallCity | None:
    """Handles on the small city already in the database (fresh from it: a test's changes are rolled back),
    or None if it was not built."""
    city = Region.objects.filter(code=CITY[0]).first()
    if city is None:
        return None
    orgs = {o.name: o for o in Organisation.objects.filter(name__in=[b[1] for b in BODIES])}
    found = SmallCity(region=city, county=Region.objects.get(code=COUNTY[0]), rows=0,
                      **{attr: orgs[name] for attr, name, *_ in BODIES})
    from catalog.models import Resource

    found._household = Resource.objects.filter(provider=found.police, name=HOUSEHOLD_FIELDS["name"]).first()
    return found


def small_city(*, rows: int = 5) -> SmallCity:
    """Daqing with one county, its bodies, one user per role and the police's household entry published
    with ``rows`` rows (made on first use of ``.household``). Call it inside the test's transaction (the
    ``small_city`` fixture does)."""
    city = region(*CITY)
    county = region(*COUNTY, parent=city)
    orgs = {attr: organisation(kind, sector, county if in_county else city, name=name)
            for attr, name, kind, sector, in_county in BODIES}
    for username, display, attr, role in USERS:
        user(orgs[attr], role, username=PREFIX + username, display_name=display)
    return SmallCity(region=city, county=county, rows=rows, **orgs)
