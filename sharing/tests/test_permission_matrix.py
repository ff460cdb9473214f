"""P2: who may do which act of sharing, for which organisation and region; each refusal is a
PermissionDenied with its code, writes nothing and is audited (gongshu.testing). The HTTP matrix of the same
acts, by token, is test_authorisation."""

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone

from catalog.models import Resource
from foundation.signing import public_key_text
from gongshu.testing import ALLOWED, FORBIDDEN, OTHER_REGION, Case, check_permission_matrix
from sharing import federation, services

pytestmark = pytest.mark.django_db
OUTSIDERS = ["bureau", "centre", "county_bureau", "operator", "developer", "public", "supervisor", "expert"]


def test_agency_members_request_data_for_their_own_agency_S3_P2(city):
    entities = Resource.objects.get(name="公交线路与站点信息")

    def request(actor, resource):
        return services.request_share(actor, resource, scenario="出行服务", basis="职责", method="api", items=["line_no"],
                                      valid_until=timezone.localdate() + dt.timedelta(days=10))

    allowed = ["officer", "staff", "cdo_civil_affairs", "cdo_health"]
    check_permission_matrix(city, request, [Case(u, entities, ALLOWED) for u in allowed]
                            + [Case(u, entities, FORBIDDEN) for u in OUTSIDERS], service=services.request_share)


def test_agency_members_raise_a_dispute_S6_P2(city):
    household = Resource.objects.get(name="户籍人口基本信息")

    def dispute(actor, resource):
        return services.raise_dispute(actor, resource, subject="户籍数据共享范围",
                                      detail="婚姻登记需要曾用名，提供部门不同意共享")

    check_permission_matrix(city, dispute, [Case("cdo_civil_affairs", household, ALLOWED)]
                            + [Case(u, household, FORBIDDEN) for u in OUTSIDERS], service=services.raise_dispute)


def test_the_bureau_registers_a_lower_instance_for_an_organisation_of_its_region_S9_P2(city):
    key = public_key_text(Ed25519PrivateKey.generate().public_key())

    def add(actor, organisation):
        return federation.add_peer(actor, name="尖山区平台", url="https://jianshan.example", public_key=key, level="lower",
                                   organisation=organisation)

    check_permission_matrix(city, add, [
        Case("bureau", city.county_civil, ALLOWED), Case("county_bureau", city.county_civil, ALLOWED),
        Case("county_bureau", city.civil, OTHER_REGION),
        Case("centre", city.civil, FORBIDDEN), Case("officer", city.police, FORBIDDEN), Case("supervisor", city.civil, FORBIDDEN),
    ], service=federation.add_peer)
