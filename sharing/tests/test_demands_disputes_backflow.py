"""Demand matching (S8), disputes (S6) and backflow (A7)."""

import pytest
from django.utils import timezone

from catalog.models import Resource
from foundation.actor import system_actor
from core.actor import act_as
from foundation.errors import Conflict, PermissionDenied, ValidationFailed
from core.models import Organisation, Role
from core.services import add_membership, create_user
from core.workdays import add_workdays
from sharing import services
from sharing.models import Demand, Grant
from warehouse import query
from workflow.models import Case
from workflow.services import transition

pytestmark = pytest.mark.django_db


def test_a_demand_is_answered_within_3_wd_and_a_declined_one_says_why_S8(city):
    demand = services.raise_demand(city.actor("cdo_civil_affairs"), provider=city.police, data="流动人口居住登记（姓名、住址）",
                                   scenario="社会救助对象居住核实", basis="《社会救助暂行办法》")
    case = demand.case
    assert case.state == "answering" and case.assignee == city.police
    assert case.due_on == add_workdays(timezone.localdate(), 3) and case.deadline_citation == "SYS Art. 32"
    with pytest.raises(ValidationFailed):
        transition(city.actor("officer"), case, "decline")
    transition(city.actor("officer"), case, "decline", comment="该数据由市公安局出入境部门另行提供")
    assert Case.objects.get(pk=case.pk).state == "declined"


def test_an_accepted_demand_for_uncatalogued_data_is_fulfilled_only_by_a_published_mounted_entry_S8(city):
    demand = services.raise_demand(city.actor("cdo_civil_affairs"), provider=city.police, data="流动人口居住登记",
                                   scenario="社会救助对象居住核实", basis="《社会救助暂行办法》")
    transition(city.actor("officer"), demand.case, "accept")
    case = Case.objects.get(pk=demand.case.pk)
    assert case.state == "publishing" and case.due_on == add_workdays(timezone.localdate(), 10)
    with pytest.raises(Conflict) as refused:
        transition(city.actor("officer"), case, "fulfil")  # no entry named
    assert refused.value.code == "no_resource"
    household = Resource.objects.get(name="户籍人口基本信息")
    Resource.objects.filter(pk=household.pk).update(mounted_at=None)
    with pytest.raises(Conflict) as refused:
        services.fulfil_demand(city.actor("officer"), demand, Resource.objects.get(pk=household.pk))
    assert refused.value.code == "not_mounted" and Case.objects.get(pk=case.pk).state == "publishing"
    Resource.objects.filter(pk=household.pk).update(mounted_at=timezone.now())
    services.fulfil_demand(city.actor("officer"), demand, Resource.objects.get(pk=household.pk))
    assert Case.objects.get(pk=case.pk).state == "fulfilled" and Demand.objects.get(pk=demand.pk).resource == household


def test_a_demand_must_name_data_scenario_basis_and_another_provider_S8(city):
    with pytest.raises(ValidationFailed) as refused:
        services.raise_demand(city.actor("cdo_civil_affairs"), provider=city.civil, data="", scenario="x", basis="y")
    assert {"data", "provider"} <= set(refused.value.errors)


def test_a_dispute_goes_from_negotiation_to_the_bureaus_to_a_government_decision_S6(city):
    household = Resource.objects.get(name="户籍人口基本信息")
    dispute = services.raise_dispute(city.actor("cdo_civil_affairs"), household, subject="户籍数据共享范围",
                                     detail="婚姻登记需要曾用名，提供部门不同意共享")
    case = dispute.case
    assert case.state == "negotiation" and case.assignee == city.police
    with pytest.raises(PermissionDenied):
        transition(city.actor("bureau"), case, "escalate", comment="x")
    transition(city.actor("cdo_civil_affairs"), case, "escalate", comment="协商不成")
    transition(city.actor("bureau"), Case.objects.get(pk=case.pk), "refer", comment="涉及全市户籍数据共享规则")
    transition(city.actor("bureau"), Case.objects.get(pk=case.pk), "to_government", comment="提请市人民政府决定")
    transition(city.actor("bureau"), Case.objects.get(pk=case.pk), "record_decision", comment="市人民政府决定：曾用名按需共享")
    case = Case.objects.get(pk=case.pk)
    steps = list(case.steps.values_list("transition", "organisation__name"))
    assert case.state == "decided" and [s[0] for s in steps] == ["open", "escalate", "refer", "to_government", "record_decision"]
    assert steps[1][1] == "双鸭山市民政局" and steps[-1][1] == "双鸭山市数据局"


@pytest.fixture
def county_civil(city):
    """A data officer of the Jianshan district civil affairs bureau."""
    system = system_actor("test")
    user = create_user(system, username="jianshan_civil", password="Gongshu@2026x", display_name="钱科员")
    organisation = Organisation.objects.get(name="尖山区民政局")
    add_membership(system, user=user, organisation=organisation, role=Role.DATA_OFFICER)
    return act_as(user, organisation.pk)


def test_backflow_returns_city_data_about_the_district_to_its_bodies_without_review_A7(city, county_civil):
    household = Resource.objects.get(name="户籍人口基本信息")
    grant = services.backflow(county_civil, household)
    assert grant.kind == "backflow" and grant.in_force() and "230502" in grant.row_filter["region_code"]
    assert services.backflow(county_civil, household) == grant  # once
    people = query.arrow_of(query.snapshot_of(household)).to_pylist()
    inside = next(p for p in people if p["region_code"] == "230502")
    outside = next(p for p in people if p["region_code"] == "230503")
    assert len(services.call(county_civil, grant.ref, filters={"citizen_id": inside["citizen_id"]}, purpose=grant.purpose).rows) == 1
    assert services.call(county_civil, grant.ref, filters={"citizen_id": outside["citizen_id"]}, purpose=grant.purpose).rows == []


def test_backflow_is_only_downwards_and_only_by_region_A7(city, county_civil):
    household = Resource.objects.get(name="户籍人口基本信息")
    with pytest.raises(PermissionDenied):
        services.backflow(city.actor("cdo_civil_affairs"), household)  # same level: a share request, not backflow
    with pytest.raises(Conflict) as refused:
        services.backflow(county_civil, Resource.objects.get(name="公交线路与站点信息"))
    assert refused.value.code == "no_region_column"
    assert not Grant.objects.filter(origin="backflow").exists()
