"""P2: who may do which act of the warehouse, for which provider and region; each refusal is a
PermissionDenied with its code, writes nothing and is audited when the act is a service (gongshu.testing)."""

import pytest

from catalog.models import Resource
from gongshu.testing import ALLOWED, FORBIDDEN, OTHER_REGION, Case, check_permission_matrix
from warehouse import query, services

pytestmark = pytest.mark.django_db


@pytest.fixture
def household():
    return Resource.objects.get(name="户籍人口基本信息")  # the police's, at city level


def test_the_bureau_keeps_the_source_host_allowlist_of_its_region_A1_P2(city):
    def add(actor, network):
        return services.add_source_host(actor, network=network, note="人社局数据库网段")

    check_permission_matrix(city, add, [
        Case("bureau", "10.20.0.0/16", ALLOWED), Case("county_bureau", "10.20.0.0/16", ALLOWED),
        Case("centre", "10.20.0.0/16", FORBIDDEN), Case("officer", "10.20.0.0/16", FORBIDDEN),
        Case("supervisor", "10.20.0.0/16", FORBIDDEN),
    ], service=services.add_source_host)
    entry = services.add_source_host(city.actor("bureau"), network="10.30.0.0/16", note="市级网段")
    check_permission_matrix(city, services.remove_source_host, [
        Case("bureau", entry, ALLOWED), Case("county_bureau", entry, OTHER_REGION),
        Case("officer", entry, FORBIDDEN), Case("supervisor", entry, FORBIDDEN),
    ])


def test_the_bureau_or_the_service_centre_assigns_a_reported_problem_A3_P2(city, household):
    """Their own refusal code (``not_assigner``): a bureau of another region is refused like any other."""
    def report(actor, resource):
        return services.report_problem_data(actor, resource, column="name", value="张伟", message="交叉核验，姓名不一致")

    check_permission_matrix(city, report, [
        Case("bureau", household, ALLOWED), Case("centre", household, ALLOWED),
        Case("county_bureau", household, "not_assigner"), Case("officer", household, "not_assigner"),
        Case("supervisor", household, "not_assigner"), Case("cdo_civil_affairs", household, "not_assigner"),
    ], service=services.report_problem_data)


def test_who_reads_a_providers_data_on_the_query_path_P2(city, household):
    """The query path's scope is a read, not a service: a refusal here is not audited by it (the call path and
    the API audit a caller's refusal)."""
    check_permission_matrix(city, lambda actor, resource: query.scope_for(actor, resource, purpose="核验"), [
        Case("officer", household, ALLOWED), Case("staff", household, ALLOWED),  # the provider's own
        Case("bureau", household, ALLOWED), Case("centre", household, ALLOWED), Case("supervisor", household, ALLOWED),
        Case("county_bureau", household, "no_grant"), Case("cdo_civil_affairs", household, "no_grant"),
        Case("operator", household, "no_grant"), Case("public", household, "no_grant"),
    ])
