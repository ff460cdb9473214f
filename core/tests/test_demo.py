"""The demo city: believable, complete for every role, loadable twice without change."""

import csv

import pytest
from django.conf import settings

from catalog.models import Resource
from foundation import rulebook
from gongshu.demo import load
from foundation.identifiers import citizen_id_problem, uscc_problem
from core.models import Membership, Organisation, Region, Role, User

pytestmark = pytest.mark.django_db


def test_regions_span_all_four_levels():
    assert set(Region.objects.values_list("level", flat=True)) == {"city", "county", "town", "village"}
    village = Region.objects.get(level="village", name="和平社区")
    assert [r.level for r in village.ancestors_and_self()] == ["city", "county", "town", "village"]


def test_every_organisation_has_a_valid_uscc():
    orgs = Organisation.objects.exclude(kind="public")
    assert orgs.filter(kind__in=["agency", "utility"]).count() >= 30
    assert all(uscc_problem(o.uscc) is None for o in orgs)


def test_statutory_source_agencies_of_art_16_exist():
    sectors = set(Organisation.objects.filter(kind="agency").values_list("sector", flat=True))
    for source in rulebook.current().sources.values():
        assert sectors & set(source.sectors), source.key


def test_one_user_per_role():
    assert set(Membership.objects.values_list("role", flat=True)) == set(Role.values)


def test_statutory_resources_are_published_through_the_review():
    names = set(Resource.objects.filter(status="published").values_list("name", flat=True))
    assert {"户籍人口基本信息", "婚姻登记信息", "出生医学证明信息", "居民死亡医学证明信息", "社会保险参保信息",
            "不动产登记信息", "市场主体登记信息"} <= names
    household = Resource.objects.get(name="户籍人口基本信息")
    assert household.provider.sector == "public_security"
    assert household.versions.get(number=1).case.state == "published"


def test_synthetic_rows_carry_valid_identifiers():
    folder = settings.GONGSHU_DATA_DIR / "demo"
    with (folder / "household_registration.csv").open(encoding="gbk") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2001  # 2000 synthetic residents and the demo citizen
    assert all(citizen_id_problem(r["公民身份号码"]) is None for r in rows)
    with (folder / "market_entity.csv").open(encoding="utf-8") as fh:
        assert all(uscc_problem(r["统一社会信用代码"]) is None for r in csv.DictReader(fh))


def test_loading_twice_changes_nothing():
    counts = (Region.objects.count(), Organisation.objects.count(), User.objects.count(), Resource.objects.count())
    load(echo=lambda *_: None)
    assert (Region.objects.count(), Organisation.objects.count(), User.objects.count(), Resource.objects.count()) == counts


def test_the_demo_code_helper_gives_a_code_not_yet_used_P3(city):
    """Two sign-ins of one demo admin within one 30-second step: a TOTP code is accepted once, so the
    helper gives the next step's code the second time (the device's tolerance accepts it)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from gongshu.demo import current_demo_otp

    device = TOTPDevice.objects.get(user__username="bureau", name="demo")
    assert device.verify_token(current_demo_otp("bureau"))
    device.refresh_from_db()
    assert device.verify_token(current_demo_otp("bureau"))
