"""The scale-out path: the same query path on Spark (local mode) gives the same answers as DuckDB."""

import shutil
import time

import pytest

from catalog.models import Resource
from warehouse import limits, query
from warehouse.tests.test_limits import HEAVY, _owner
from warehouse.models import EngineChoice

pytestmark = [pytest.mark.spark, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _java():
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java 17")


@pytest.fixture(autouse=True, scope="module")
def _warm_jvm():
    """A cold JVM compiles its first query slowly: warmed once here, so that the time limit the runs keep
    measures the query, not the JIT (on a busy 2-core machine the first query alone can take 10 s)."""
    if shutil.which("java"):
        from warehouse.engines import spark_session

        spark_session().range(1000).selectExpr("sum(id) AS n", "count(DISTINCT substr(CAST(id AS STRING), 1, 2)) AS m").collect()


def _both(actor, resource, **kwargs):
    scope = query.scope_for(actor, resource, purpose="引擎一致性")
    duck = query.run(actor, resource, scope=scope, engine="duckdb", **kwargs)
    spark = query.run(actor, resource, scope=scope, engine="spark", **kwargs)
    return duck, spark


@pytest.mark.parametrize("name", ["户籍人口基本信息", "市场主体登记信息"])  # encrypted by grade, and plain
def test_spark_and_duckdb_agree_on_aggregates(city, name):
    resource = Resource.objects.get(name=name)
    sql = "SELECT substr(CAST(region_code AS VARCHAR), 1, 6) AS r, count(*) AS n FROM data GROUP BY 1 ORDER BY 1" \
        if name.startswith("户籍") else "SELECT status, count(*) AS n, min(established_on) AS first FROM data GROUP BY status ORDER BY status"
    duck, spark = _both(city.actor("bureau"), resource, sql=sql)
    assert duck.columns == spark.columns
    assert [tuple(str(c) for c in r) for r in duck.rows] == [tuple(str(c) for c in r) for r in spark.rows]


def test_spark_and_duckdb_mask_a_lookup_the_same_way(city):
    household = Resource.objects.get(name="户籍人口基本信息")
    person = query.arrow_of(query.snapshot_of(household)).slice(0, 1).to_pylist()[0]
    duck, spark = _both(city.actor("bureau"), household, filters={"citizen_id": person["citizen_id"]})
    as_text = lambda records: [{k: str(v) for k, v in r.items()} for r in records]  # noqa: E731 (dates: date vs date)
    assert as_text(duck.records) == as_text(spark.records)
    assert duck.records[0]["citizen_id"] != person["citizen_id"]  # masked on both


def test_a_large_resource_runs_on_spark_by_configuration(city):
    household = Resource.objects.get(name="户籍人口基本信息")
    EngineChoice.objects.create(resource=household, engine="spark")
    assert query.engine_for(household) == "spark"
    officer = city.actor("officer")
    result = query.run(officer, household, scope=query.scope_for(officer, household, purpose="x"),
                       sql="SELECT count(*) AS n FROM data")
    assert result.rows == [(2001,)]


def test_a_spark_run_over_the_time_limit_is_cancelled(city, settings):
    """The Spark path keeps the time limit too: its jobs are one job group, cancelled by the timer."""
    household = Resource.objects.get(name="户籍人口基本信息")
    settings.GONGSHU_QUERY_TIMEOUT_SECONDS = 1  # the join below runs for minutes
    officer, scope = _owner(city, household)
    started = time.monotonic()
    with pytest.raises(limits.QueryLimit) as refused:
        query.run(officer, household, scope=scope, sql=HEAVY, engine="spark")
    assert refused.value.code == "query_timeout" and time.monotonic() - started < 60
    settings.GONGSHU_QUERY_TIMEOUT_SECONDS = 120  # the next run is not cancelled with the last one's group
    assert query.run(officer, household, scope=scope, sql="SELECT count(*) AS n FROM data", engine="spark").rows == [(2001,)]
