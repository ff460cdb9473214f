"""Every registered case type, declared whole: each deadline key is a rule of the rulebook in working days
or hours, each on-enter hook resolves to a function, each state is reachable from the states a case is
opened in, and each party a state or a transition names is an organisation of the demo city for a case
opened by the type's own service (and someone there holds a role that may take the transition)."""

import datetime as dt
import sqlite3

import pytest
from django.utils import timezone

from catalog.models import Resource
from core.models import Membership, Organisation, User
from foundation import rulebook
from workflow import engine
from workflow.services import transition

pytestmark = pytest.mark.django_db

TYPES = engine.case_types()


def _share_request(city):
    from sharing import services

    household = Resource.objects.get(name="户籍人口基本信息")
    return services.request_share(city.actor("cdo_civil_affairs"), household, scenario="婚姻登记核验", basis="《婚姻登记条例》",
                                  method="api", items=["citizen_id", "name"],
                                  valid_until=timezone.localdate() + dt.timedelta(days=90))


def _grant(city):
    from sharing.models import Grant

    request = _share_request(city)
    transition(city.actor("officer"), request.case, "agree")
    return Grant.objects.get(request=request)


def _correction(city):
    from sharing import services
    from warehouse import query

    household = Resource.objects.get(name="户籍人口基本信息")
    person = query.arrow_of(query.snapshot_of(household)).slice(3, 1).to_pylist()[0]
    User.objects.filter(username="public").update(citizen_id=person["citizen_id"])
    return services.raise_correction(city.actor("public"), household, key={"citizen_id": person["citizen_id"]}, column="name",
                                     claimed_value="孙市民", reason="户口簿上的姓名为孙市民", source="person").case


def _rectification(city):
    from sharing import services

    grant = _grant(city)
    return services._open_rectification(services.machine_monitor(grant.resource.provider), grant, "idle", "3个月未调用").case


def _demand(city):
    from sharing import services

    return services.raise_demand(city.actor("cdo_civil_affairs"), provider=city.police, data="流动人口居住登记",
                                 scenario="社会救助", basis="《社会救助暂行办法》").case


def _dispute(city):
    from sharing import services

    return services.raise_dispute(city.actor("cdo_civil_affairs"), Resource.objects.get(name="户籍人口基本信息"),
                                  subject="共享范围", detail="申请的数据项被拒").case


def _reevaluation(city):
    from sharing import services

    household = Resource.objects.get(name="户籍人口基本信息")
    return services._open_reevaluation(services.machine_monitor(household.provider), household).case


def _onward(city):
    from sharing import services

    health = Organisation.objects.get(name="双鸭山市卫生健康委员会")
    return services.ask_onward(city.actor("cdo_civil_affairs"), _grant(city), recipient=health, purpose="出生一件事联办",
                               items=["name"]).case


def _catalog_review(city):
    from catalog.services import draft_resource, submit_resource
    from catalog.tests.factories import entry_fields, entry_items

    officer = city.actor("officer")
    return submit_resource(officer, draft_resource(officer, fields=entry_fields(), items=entry_items()))


def _catalog_update_review(city):
    from catalog.services import submit_resource, update_draft

    officer = city.actor("officer")
    household = Resource.objects.get(name="户籍人口基本信息")
    update_draft(officer, household, fields={"summary": "修订后的摘要", "change_reason": "职能调整"})
    return submit_resource(officer, household)


def _source_database_review(city, tmp_path, settings):
    from warehouse.services import register_source_database

    settings.GONGSHU_IMPORT_DIR = tmp_path / "import"
    settings.GONGSHU_IMPORT_DIR.mkdir()
    sqlite3.connect(settings.GONGSHU_IMPORT_DIR / "hr.sqlite3").close()
    return register_source_database(city.actor("cdo_human_resources"), name="人社业务库", kind="sqlite",
                                    path="hr.sqlite3").case


def _problem_data(city):
    from warehouse.services import report_problem_data

    return report_problem_data(city.actor("bureau"), Resource.objects.get(name="户籍人口基本信息"), column="name",
                               message="与民政婚姻登记信息交叉核验不一致")


def _project(city):
    from catalog.services import register_project
    from workflow.selectors import case_of

    project = register_project(city.actor("officer"), name="智慧公安平台", approved_on=dt.date(2026, 3, 1),
                               resources=[Resource.objects.get(name="户籍人口基本信息")])
    return case_of(project, "information_system_project")


def _revocation(city):
    from sharing import services

    return services.revoke_grant(city.actor("officer"), _grant(city), reason="申请单位职责调整").case


def _governance(city):
    from warehouse.services import request_governance

    return request_governance(city.actor("cdo_civil_affairs"), subject="住址口径不一致", detail="请统筹治理").case


def _update_duty(city):
    from catalog.services import record_basis_change

    return record_basis_change(city.actor("officer"), Resource.objects.get(name="户籍人口基本信息"),
                               changed_on=timezone.localdate(), change="《户口登记条例》修订")


OPENERS = {
    "revocation": lambda city, **_: _revocation(city),
    "share_request": lambda city, **_: _share_request(city).case,
    "correction": lambda city, **_: _correction(city),
    "rectification": lambda city, **_: _rectification(city),
    "demand": lambda city, **_: _demand(city),
    "dispute": lambda city, **_: _dispute(city),
    "share_reevaluation": lambda city, **_: _reevaluation(city),
    "onward_provision": lambda city, **_: _onward(city),
    "catalog_review": lambda city, **_: _catalog_review(city),
    "catalog_update_review": lambda city, **_: _catalog_update_review(city),
    "source_database_review": lambda city, tmp_path, settings: _source_database_review(city, tmp_path, settings),
    "problem_data": lambda city, **_: _problem_data(city),
    "information_system_project": lambda city, **_: _project(city),
    "governance_request": lambda city, **_: _governance(city),
    "catalog_update_duty": lambda city, **_: _update_duty(city),
}


def test_every_case_type_can_be_opened_here():
    """A new case type takes its place in OPENERS (how its service opens one in the demo city)."""
    assert {t.name for t in TYPES} == set(OPENERS)


@pytest.mark.parametrize("ctype", TYPES, ids=lambda t: t.name)
def test_each_deadline_key_is_a_rule_in_working_days_or_hours(ctype):
    for state in ctype.states:
        if state.deadline:
            rule = rulebook.rule(state.deadline)
            assert rule.article, f"{state.deadline} cites no article"
            assert rulebook.time_limit(state.deadline).unit in ("wd", "hours")
        else:
            assert state.final or not state.party, \
                f"{ctype.name}.{state.name}: a party must act without a deadline"


@pytest.mark.parametrize("ctype", TYPES, ids=lambda t: t.name)
def test_each_on_enter_hook_resolves_to_a_function(ctype):
    for state in ctype.states:
        if state.on_enter:
            assert callable(state.hook), f"{ctype.name}.{state.name}: {state.on_enter}"


@pytest.mark.parametrize("ctype", TYPES, ids=lambda t: t.name)
def test_each_state_is_reachable_from_the_start(ctype):
    assert ctype.reachable() == {s.name for s in ctype.states}
    assert any(s.final for s in ctype.states)


@pytest.mark.parametrize("ctype", TYPES, ids=lambda t: t.name)
def test_each_party_resolves_for_a_case_of_the_demo_city(ctype, city, tmp_path, settings):
    case = OPENERS[ctype.name](city, tmp_path=tmp_path, settings=settings)
    assert case.case_type == ctype.name and case.state in ctype.initial
    resolved = {name: case.party(name) for name in ctype.parties}
    missing = [name for name, pk in resolved.items() if pk is None or not Organisation.objects.filter(pk=pk).exists()]
    assert not missing, f"{ctype.name}: parties {missing} not resolved by its service"
    for t in ctype.transitions:
        holders = Membership.objects.filter(organisation_id=resolved[t.party], role__in=t.roles)
        assert holders.exists(), f"{ctype.name}.{t.name}: nobody at {t.party} holds {set(t.roles)}"
