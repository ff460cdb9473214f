"""P2: who may do which act of the registry and accounts, for which organisation and region; each refusal
is a PermissionDenied with its code, writes nothing and is audited (gongshu.testing)."""

import datetime as dt

import pytest

from core import services
from foundation.identifiers import make_uscc
from gongshu.testing import ALLOWED, FORBIDDEN, OTHER_REGION, Case, check_permission_matrix

pytestmark = pytest.mark.django_db
PEOPLE = ["bureau", "centre", "county_bureau", "officer", "staff", "operator", "developer", "public", "supervisor", "expert"]


def test_the_bureau_registers_organisations_in_its_own_region_only_P1_P2(small_city):
    def create(actor, region):
        return services.create_organisation(actor, name="大庆市测试局", kind="agency", region=region,
                                            uscc=make_uscc(region.code, 12345678))

    check_permission_matrix(small_city, create, [
        Case("bureau", small_city.region, ALLOWED), Case("bureau", small_city.county, ALLOWED),
        Case("county_bureau", small_city.county, ALLOWED), Case("county_bureau", small_city.region, OTHER_REGION),
        Case("centre", small_city.region, FORBIDDEN), Case("officer", small_city.region, FORBIDDEN),
        Case("supervisor", small_city.county, FORBIDDEN),
    ], service=services.create_organisation)


def test_the_bureau_keeps_the_working_day_calendar_P2(small_city):
    def holiday(actor, date):
        return services.set_calendar_day(actor, date=date, is_workday=False, name="测试假日")

    day = dt.date(2031, 5, 2)
    check_permission_matrix(small_city, holiday, [Case(u, day, ALLOWED if u in ("bureau", "county_bureau") else FORBIDDEN)
                                            for u in PEOPLE], service=services.set_calendar_day)


def test_everyone_issues_themselves_a_token_and_only_the_bureau_revokes_anothers_P3_P2(small_city):
    check_permission_matrix(small_city, lambda actor, _: services.issue_token(actor, name="矩阵", scopes=["read"]),
                            [Case(u, None, ALLOWED) for u in PEOPLE], service=services.issue_token)
    token, _ = services.issue_token(small_city.actor("staff"), name="刘干事的令牌", scopes=["read"])
    check_permission_matrix(small_city, lambda actor, t: services.revoke_token(actor, token=t), [
        Case("staff", token, ALLOWED),  # one's own token: no permission needed
        Case("bureau", token, ALLOWED), Case("county_bureau", token, OTHER_REGION),
        Case("officer", token, FORBIDDEN),  # the same agency's data officer: not an administrator
        Case("supervisor", token, FORBIDDEN), Case("public", token, FORBIDDEN),
    ], service=services.revoke_token)
