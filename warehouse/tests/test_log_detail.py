"""G1: each grade's protection measures include its log detail. The audit event of a read through the one
query path follows the highest ``log_detail`` of the grades of the items read: ``full`` (完整，含数据项和记录键)
names the items, the query and the record keys; ``summary`` (摘要) only counts. The usage log (A6) is copied
from that event either way."""

import datetime as dt

import pytest
from django.utils import timezone

from audit.models import Event
from catalog.models import Resource
from sharing import services as sharing
from sharing.models import Grant
from warehouse import limits, query, usage
from workflow.services import transition

pytestmark = pytest.mark.django_db


@pytest.fixture
def household():
    """Citizen ID graded important, name and address general-sensitive (full); gender, birth date, region
    general-internal (summary)."""
    return Resource.objects.get(name="户籍人口基本信息")


@pytest.fixture
def entities():
    """Every item graded general-public (summary)."""
    return Resource.objects.get(name="市场主体登记信息")


def _grant(city, household, items) -> Grant:
    request = sharing.request_share(city.actor("cdo_civil_affairs"), household, scenario="婚姻登记当事人户籍核验",
                                    basis="《婚姻登记条例》第五条", method="api", items=items,
                                    valid_until=timezone.localdate() + dt.timedelta(days=30))
    transition(city.actor("officer"), request.case, "agree")
    return Grant.objects.get(request=request)


def _raw(resource):
    return query.arrow_of(query.snapshot_of(resource)).to_pylist()


def test_a_lookup_of_fully_logged_items_names_the_items_and_the_record_key_G1(city, household):
    officer = city.actor("officer")
    person = _raw(household)[0]
    result = query.run(officer, household, scope=query.scope_for(officer, household, purpose="户籍核对"),
                       filters={"citizen_id": person["citizen_id"]})
    event = Event.objects.get(seq=result.audit_seq).data
    assert event["log_detail"] == "full"
    assert event["items"] == result.columns and "citizen_id" in event["items"]
    assert event["keys"] == {"citizen_id": [person["citizen_id"]]} and event["rows"] == 1
    assert event["query"] == "lookup citizen_id=?"
    log = usage.logs().get(audit_seq=result.audit_seq)
    assert (log.items, log.row_count, log.query) == (result.columns, 1, "lookup citizen_id=?")


def test_a_query_of_fully_logged_items_keeps_the_query_as_written_G1(city, household):
    bureau = city.actor("bureau")
    sql = "SELECT region_code, count(*) AS n FROM data WHERE name LIKE '王%' GROUP BY region_code"
    result = query.run(bureau, household, scope=query.scope_for(bureau, household, purpose="统计"), sql=sql)
    event = Event.objects.get(seq=result.audit_seq).data
    assert (event["log_detail"], event["query"], event["items"], event["rows"]) == ("full", sql, ["region_code", "n"], len(result.rows))


def test_a_grant_of_summary_items_is_logged_by_counts_only_G1(city, household):
    """Gender and birth date are general-internal: the event says how many items and rows, not which, and
    not the query; the usage log still gets its row."""
    grant = _grant(city, household, ["gender", "birth_date"])
    sql = "SELECT gender, count(*) AS n FROM data WHERE birth_date > DATE '1990-01-01' GROUP BY gender"
    result = sharing.call(city.actor("cdo_civil_affairs"), grant.ref, sql=sql, purpose=grant.purpose, operation="query")
    stored = Event.objects.get(seq=result.audit_seq)
    event = stored.data
    assert event["log_detail"] == "summary"
    assert (event["items"], event["item_count"], event["rows"], event["query"]) == ([], 2, len(result.rows), "sql")
    assert "keys" not in event and "gender" not in stored.summary and "1990" not in stored.summary
    assert event["grant"] == grant.ref and event["purpose"] == grant.purpose
    log = usage.logs().get(audit_seq=result.audit_seq)
    assert (log.items, log.row_count, log.query, log.grant_ref) == ([], len(result.rows), "sql", grant.ref)


def test_a_lookup_of_summary_items_does_not_record_the_key_G1(city, entities):
    bureau = city.actor("bureau")
    entity = _raw(entities)[0]
    result = query.run(bureau, entities, scope=query.scope_for(bureau, entities, purpose="法人核验"),
                       filters={"uscc": entity["uscc"]})
    assert len(result.rows) == 1
    stored = Event.objects.get(seq=result.audit_seq)
    assert stored.data["log_detail"] == "summary" and stored.data["query"] == "lookup" and stored.data["rows"] == 1
    assert entity["uscc"] not in stored.summary and "uscc" not in stored.summary
    assert usage.logs().get(audit_seq=result.audit_seq).row_count == 1


def test_the_highest_grade_read_decides_G1(city, household):
    """One general-sensitive item (name) among general-internal ones makes the whole read fully logged."""
    grant = _grant(city, household, ["gender", "name"])
    result = sharing.call(city.actor("cdo_civil_affairs"), grant.ref, sql="SELECT gender, count(*) AS n FROM data GROUP BY 1",
                          purpose=grant.purpose, operation="query")
    event = Event.objects.get(seq=result.audit_seq).data
    assert event["log_detail"] == "full" and event["items"] == ["gender", "n"]


def test_a_refused_run_follows_the_log_detail_too_G1(city, household, settings):
    settings.GONGSHU_QUERY_TIMEOUT_SECONDS = 0.3
    grant = _grant(city, household, ["gender", "birth_date"])
    sql = ("SELECT sum(length(a.gender || b.gender || c.gender)) AS n FROM data a JOIN data b ON a.gender = b.gender "
           "JOIN data c ON b.gender = c.gender")
    head = Event.objects.order_by("-seq").values_list("seq", flat=True).first()
    with pytest.raises(limits.QueryLimit):
        sharing.call(city.actor("cdo_civil_affairs"), grant.ref, sql=sql, purpose=grant.purpose, operation="query")
    (refused,) = Event.objects.filter(seq__gt=head, action=usage.ACTION, outcome="refused")
    assert refused.data["error"]["code"] == "query_timeout"
    assert (refused.data["log_detail"], refused.data["query"]) == ("summary", "sql") and "gender" not in refused.summary


def test_a_warm_lookup_makes_no_orm_query_for_its_log_detail(city, household, django_assert_num_queries):
    """The per-record hot path: the log detail comes with the entry's cached policy, no query of its own."""
    officer = city.actor("officer")
    scope = query.scope_for(officer, household, purpose="核对")
    person = _raw(household)[0]
    query.run(officer, household, scope=scope, filters={"citizen_id": person["citizen_id"]})
    with django_assert_num_queries(0):
        query.run(officer, household, scope=scope, filters={"citizen_id": person["citizen_id"]})
