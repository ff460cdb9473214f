"""Property: for random grants and calls, the sharing API never returns an item or a row outside the
grant, and every answered call carries a receipt that proves (S4, S7)."""

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from django.utils import timezone

from audit.services import prove
from catalog.models import Resource
from foundation.errors import GongshuError
from sharing import services
from sharing.models import Grant
from warehouse import query

pytestmark = pytest.mark.django_db
COLUMNS = ["citizen_id", "name", "gender", "birth_date", "ethnicity", "address", "household_no", "region_code"]


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(granted=st.sets(st.sampled_from(COLUMNS), min_size=1), asked=st.sets(st.sampled_from(COLUMNS)),
       regions=st.sets(st.sampled_from(["230502", "230503", "230505", "230521"]), max_size=2), pick=st.integers(0, 10_000),
       sql=st.sampled_from([None, "SELECT * FROM data", "SELECT region_code, count(*) AS n FROM data GROUP BY region_code",
                            "SELECT name, address FROM data LIMIT 5"]))
def test_no_call_returns_anything_outside_its_grant_S4(city, granted, asked, regions, pick, sql):
    household = Resource.objects.get(name="户籍人口基本信息")
    people = query.arrow_of(query.snapshot_of(household)).to_pylist()
    grant = Grant.objects.create(resource=household, holder=city.civil, items=sorted(granted), method="api",
                                 row_filter={"region_code": sorted(regions)} if regions else {}, purpose="核验",
                                 valid_from=timezone.localdate(), valid_until=timezone.localdate() + dt.timedelta(days=1))
    person = people[pick % len(people)]
    actor = city.actor("cdo_civil_affairs")
    try:
        result = services.call(actor, grant.ref, filters=None if sql else {"citizen_id": person["citizen_id"]}, sql=sql,
                               fields=sorted(asked) or None, operation="query" if sql else "lookup",
                               purpose=grant.purpose)
    except GongshuError:
        return  # refused: nothing returned
    assert set(result.columns) & set(COLUMNS) <= granted  # computed columns (counts) may be added
    if not sql and regions:
        assert not result.rows or person["region_code"] in regions
    if sql and regions and "region_code" in result.columns:
        assert {r["region_code"] for r in result.records} <= regions
    assert prove(result.audit_seq, result.audit_hash).ok
