"""The sharing pages: the request wizard from a catalog entry, the overview with the dashboard, the grant
page with call statistics and revocation (S3, S4, S7)."""

import datetime as dt

import pytest
from django.utils import timezone

from catalog.models import Resource
from sharing.models import Grant, ShareRequest
from workflow.services import transition

pytestmark = pytest.mark.django_db


def test_an_agency_requests_from_the_catalog_entry_and_sees_its_deadline_S3(client, city, sign_in):
    household = Resource.objects.get(name="户籍人口基本信息")
    sign_in("cdo_health")
    assert "request-share" in client.get(f"/catalog/{household.pk}/").content.decode()
    page = client.get(f"/share/request/{household.pk}/").content.decode()
    before = ShareRequest.objects.count()
    assert "household_no" in page and "db_sync" in page and 'value="file"' not in page
    bad = client.post(f"/share/request/{household.pk}/", {"scenario": "婚姻登记核验", "basis": "", "method": "api",
                                                           "items": ["name"], "valid_until": "2020-01-01"})
    assert bad.status_code == 200 and ShareRequest.objects.count() == before
    response = client.post(f"/share/request/{household.pk}/", {
        "scenario": "婚姻登记核验", "basis": "《婚姻登记条例》", "method": "api", "items": ["citizen_id", "name"],
        "valid_until": str(timezone.localdate() + dt.timedelta(days=30)),
    })
    request = ShareRequest.objects.latest("pk")
    assert response.status_code == 302 and response["Location"] == f"/cases/{request.case.number}/"
    overview = client.get("/share/").content.decode()
    assert request.case.number in overview and "提供部门审核" in overview and "echarts.min.js" in overview


def test_own_entries_and_not_shared_entries_offer_no_request_S1(client, city, sign_in):
    household = Resource.objects.get(name="户籍人口基本信息")
    sign_in("officer")
    assert "request-share" not in client.get(f"/catalog/{household.pk}/").content.decode()


def test_the_grant_page_shows_calls_and_the_provider_revokes_there_S7(client, city, sign_in):
    from sharing import services
    from warehouse import query

    household = Resource.objects.get(name="户籍人口基本信息")
    request = services.request_share(city.actor("cdo_human_resources"), household, scenario="核验", basis="条例", method="api",
                                     items=["citizen_id", "name"], valid_until=timezone.localdate() + dt.timedelta(days=9))
    transition(city.actor("officer"), request.case, "agree")
    grant = Grant.objects.get(request=request)
    person = query.arrow_of(query.snapshot_of(household)).slice(0, 1).to_pylist()[0]
    services.call(city.actor("cdo_human_resources"), grant.ref, filters={"citizen_id": person["citizen_id"]}, purpose=grant.purpose)
    sign_in("cdo_human_resources")
    page = client.get(f"/share/grants/{grant.ref}/").content.decode()
    assert "调用 1 次" in page and 'id="revoke"' not in page  # the holder cannot revoke
    assert client.post(f"/share/grants/{grant.ref}/", {"reason": "x"}).status_code == 302
    assert Grant.objects.get(pk=grant.pk).status == "active"
    sign_in("cdo_health")
    assert client.get(f"/share/grants/{grant.ref}/").status_code == 404
    sign_in("officer")
    assert 'id="revoke"' in client.get(f"/share/grants/{grant.ref}/").content.decode()
    client.post(f"/share/grants/{grant.ref}/", {"reason": "职责调整"})
    assert Grant.objects.get(pk=grant.pk).status == "active"  # the bureau reviews the revocation first
    revocation = grant.revocations.get()
    page = client.get(f"/share/grants/{grant.ref}/").content.decode()
    assert f'href="/cases/{revocation.case.number}/"' in page and "主管部门审核" in page
    transition(city.actor("bureau"), revocation.case, "approve", comment="同意撤销")
    assert Grant.objects.get(pk=grant.pk).status == "revoked"


def test_a_citizen_raises_a_correction_on_the_web_with_its_own_id_filled_in_S5(client, city, sign_in):
    from core.models import User
    from sharing.models import Correction

    household = Resource.objects.get(name="户籍人口基本信息")
    citizen = User.objects.get(username="public").citizen_id
    sign_in("public")
    page = client.get("/share/corrections/").content.decode()
    assert citizen in page and "已更正" in page  # the demo's correction, and the form prefilled
    before = Correction.objects.count()
    client.post("/share/corrections/", {"resource": household.pk, "key": "230502199001011234", "column": "address",
                                        "claimed_value": "x", "reason": "y"})
    assert Correction.objects.count() == before  # not about oneself: refused
    response = client.post("/share/corrections/", {"resource": household.pk, "key": citizen, "column": "address",
                                                   "claimed_value": "双鸭山市尖山区和平街2号", "reason": "门牌号登记有误"})
    assert response.status_code == 302 and Correction.objects.count() == before + 1
    assert Correction.objects.latest("pk").source == "person"


def test_a_correction_picks_the_data_item_by_its_label_under_its_entry_S5(client, city, sign_in):
    """The item is chosen from the entry's data items by their labels (not typed as a column name); an item
    of another entry is refused on the field, and nothing is raised."""
    import re

    from sharing.models import Correction

    household = Resource.objects.get(name="户籍人口基本信息")
    sign_in("public")
    page = client.get("/share/corrections/").content.decode()
    group = re.search(r'<optgroup label="户籍人口基本信息">(.*?)</optgroup>', page, re.S)
    assert group and '<option value="address">户籍地址</option>' in group.group(1)
    assert '<option value="citizen_id">' not in group.group(1)  # the record's key is not an item to correct
    other = next(r for r in Resource.objects.filter(items__is_key=True, items__sensitivity__in=("citizen_id", "uscc"))
                 .exclude(pk=household.pk).distinct() if r.items.exclude(column__in=household.items.values("column")).exists())
    foreign = other.items.exclude(column__in=household.items.values("column")).exclude(is_key=True).first()
    citizen = city.user("public").citizen_id
    before = Correction.objects.count()
    refused = client.post("/share/corrections/", {"resource": household.pk, "key": citizen, "column": foreign.column,
                                                  "claimed_value": "x", "reason": "y"}).content.decode()
    assert Correction.objects.count() == before and 'id="form-errors"' in refused and "有误的数据项" in refused


def test_demands_disputes_and_backflow_start_from_the_web_S6_S8_A7(client, city, sign_in):
    from sharing.models import Demand, Dispute

    sign_in("cdo_civil_affairs")
    for kind in ("demand", "dispute", "backflow"):
        assert client.get(f"/share/new/{kind}/").status_code == 200
    assert client.get("/share/new/nonsense/").status_code == 404
    response = client.post("/share/new/demand/", {"provider": city.police.pk, "data": "流动人口居住登记", "scenario": "救助核实",
                                                 "basis": "《社会救助暂行办法》"})
    assert response.status_code == 302 and Demand.objects.filter(applicant=city.civil).exists()
    household = Resource.objects.get(name="户籍人口基本信息")
    response = client.post("/share/new/dispute/", {"resource": household.pk, "subject": "共享范围", "detail": "协商未果"})
    assert response.status_code == 302 and Dispute.objects.filter(applicant=city.civil).exists()
    refused = client.post("/share/new/backflow/", {"resource": household.pk}, follow=True)  # same level: no backflow
    assert "下级单位" in refused.content.decode() and not Grant.objects.filter(origin="backflow").exists()


def test_the_cross_level_page_says_when_no_upper_instance_is_registered_S9(client, sign_in):
    sign_in("cdo_civil_affairs")
    page = client.get("/share/remote/").content.decode()
    assert "尚未登记上级平台" in page


def test_the_request_form_offers_the_longest_end_the_rulebook_allows_S3(client, city, sign_in, settings, tmp_path):
    """Issue 13 item 9: the form's default end is today + share.grant_months (SYS Art. 27), not a literal."""
    import yaml

    from core.workdays import add_months, today
    from foundation import rulebook

    household = Resource.objects.get(name="户籍人口基本信息")
    sign_in("cdo_health")
    assert f'value="{add_months(today(), 12)}"' in client.get(f"/share/request/{household.pk}/").content.decode()
    data = yaml.safe_load((rulebook.RULEBOOK_DIR / "shuangyashan.yaml").read_text(encoding="utf-8"))
    data["rules"]["share.grant_months"]["value"] = 6
    path = tmp_path / "six_months.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    settings.GONGSHU_RULEBOOK = str(path)
    assert f'value="{add_months(today(), 6)}"' in client.get(f"/share/request/{household.pk}/").content.decode()
