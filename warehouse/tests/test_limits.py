"""Limits of the one query path (DESIGN rule 3: "runs on the engine within time and memory limits"): the SQL
policy refuses cross products and casts no answer can carry; every engine run keeps to a time, memory and
thread limit from settings; runs at once are capped so that a web worker stays free. Every limit refusal
is structured and audited (SEC2)."""

import time

import pytest

from audit.models import Event
from catalog.models import Resource
from foundation.errors import ValidationFailed
from core.services import issue_token
from warehouse import limits, query, storage, usage

pytestmark = pytest.mark.django_db

# Allowed by the policy (every join on a condition about its rows) and heavy all the same: 2,001 people,
# two genders, so about 2 × 10⁹ joined rows, each concatenating three names.
HEAVY = ("SELECT sum(length(a.name || b.name || c.name)) AS n FROM data a JOIN data b ON a.gender = b.gender "
         "JOIN data c ON b.gender = c.gender")
# About 2 × 10⁶ groups: far more memory than a small limit.
WIDE = ("SELECT a.citizen_id AS x, b.citizen_id AS y, count(*) AS n FROM data a JOIN data b ON a.gender = b.gender "
        "GROUP BY 1, 2 ORDER BY 3 DESC")


@pytest.fixture
def household():
    return Resource.objects.get(name="户籍人口基本信息")


def _owner(city, household):
    officer = city.actor("officer")
    return officer, query.scope_for(officer, household, purpose="限额测试")


def _refusals(after: int, code: str):
    return [e for e in Event.objects.filter(seq__gt=after, action=usage.ACTION, outcome="refused")
            if e.data["error"]["code"] == code]


def _head() -> int:
    return Event.objects.order_by("-seq").values_list("seq", flat=True).first()


# --- the SQL policy ---------------------------------------------------------------------------


@pytest.mark.parametrize("sql", [
    "SELECT count(*) AS n FROM data a CROSS JOIN data b",
    "SELECT count(*) AS n FROM data a, data b",
    "SELECT count(*) AS n FROM data a, data b WHERE a.gender = b.gender",  # a comma join even with a WHERE
    "SELECT count(*) AS n FROM data a JOIN data b ON TRUE",
    "SELECT count(*) AS n FROM data a JOIN data b ON 1 = 1",
    "SELECT count(*) AS n FROM data a LEFT JOIN data b ON NULL IS NULL",
    "SELECT count(*) AS n FROM data a JOIN data b ON (SELECT count(*) FROM data c WHERE c.gender = '男') > 0",
    "SELECT count(*) AS n FROM data a NATURAL JOIN (SELECT gender AS g FROM data) b",
    "SELECT count(*) AS n FROM data a POSITIONAL JOIN data b",
    "SELECT count(*) AS n FROM data a JOIN data b ON a.gender = b.gender, data c",
])
def test_a_join_without_a_condition_is_refused_before_any_engine_runs(city, household, sql):
    """The issue's triple self cross join, and every other spelling of a cross product, is refused with a
    structured 422 that names the rule; nothing is read (DESIGN rule 3, 7)."""
    officer, scope = _owner(city, household)
    head = _head()
    with pytest.raises(ValidationFailed) as refused:
        query.run(officer, household, scope=scope, sql=sql)
    assert (refused.value.code, refused.value.field, refused.value.status) == ("sql_join", "sql", 422)
    assert not Event.objects.filter(seq__gt=head, action=usage.ACTION).exists()


def test_a_join_on_a_condition_is_answered(city, household):
    officer, scope = _owner(city, household)
    sql = ("SELECT count(*) AS n FROM data a JOIN data b USING (citizen_id) "
           "LEFT JOIN data c ON c.citizen_id = a.citizen_id")
    assert query.run(officer, household, scope=scope, sql=sql).rows == [(2001,)]


def test_the_relations_of_one_query_are_capped(city, household, settings):
    """Each use of ``data`` or of a CTE counts, subqueries included (a platform default, a setting)."""
    officer, scope = _owner(city, household)
    four = ("WITH t AS (SELECT citizen_id FROM data) SELECT count(*) AS n FROM t "
            "JOIN data b ON t.citizen_id = b.citizen_id WHERE t.citizen_id IN (SELECT citizen_id FROM data)")
    assert query.run(officer, household, scope=scope, sql=four).rows == [(2001,)]
    settings.GONGSHU_QUERY_MAX_RELATIONS = 3
    with pytest.raises(ValidationFailed) as refused:
        query.run(officer, household, scope=scope, sql=four)
    assert refused.value.code == "sql_relations" and "3" in refused.value.message


def test_a_recursive_query_is_refused(city, household):
    officer, scope = _owner(city, household)
    sql = "WITH RECURSIVE r AS (SELECT 1 AS k UNION ALL SELECT k + 1 FROM r) SELECT count(*) AS n FROM r"
    with pytest.raises(Exception) as refused:
        query.run(officer, household, scope=scope, sql=sql)
    assert refused.value.code == "sql_forbidden"


@pytest.mark.parametrize("cast", [
    "try_cast(region_code AS BLOB)", "CAST(region_code AS BYTEA)", "region_code::BLOB", "CAST(region_code AS INTEGER[])",
    "CAST(region_code AS JSON)", "try_cast(region_code AS UUID)", "CAST(region_code AS BIT)",
    "CAST(gender AS STRUCT(g VARCHAR))", "CAST(gender AS MAP(VARCHAR, VARCHAR))", "BLOB 'x'",
])
def test_a_cast_to_a_type_outside_the_allowlist_is_refused(city, household, cast):
    officer, scope = _owner(city, household)
    with pytest.raises(ValidationFailed) as refused:
        query.run(officer, household, scope=scope, sql=f"SELECT {cast} AS v FROM data LIMIT 1")
    assert (refused.value.code, refused.value.status) == ("sql_type", 422)


def test_casts_to_plain_types_are_answered(city, household):
    officer, scope = _owner(city, household)
    sql = ("SELECT CAST(region_code AS INTEGER) AS i, CAST(region_code AS DECIMAL(10, 2)) AS d, region_code::VARCHAR AS v, "
           "try_cast(birth_date AS DATE) AS day, CAST(1 AS BOOLEAN) AS b, CAST(region_code AS DOUBLE) AS f, "
           "CAST(birth_date AS TIMESTAMP) AS t FROM data LIMIT 1")
    (row,) = query.run(officer, household, scope=scope, sql=sql).rows
    assert row[0] == int(row[2])


def test_try_cast_as_blob_over_http_is_a_structured_422_not_a_server_error(client, city, household):
    """Issue item 8: a BLOB could not be written as JSON and the API answered 500."""
    token = issue_token(city.actor("officer"), name="t", scopes=["read"])[1]
    response = client.post(f"/api/v1/data/{household.pk}/query",
                           {"purpose": "核对", "sql": "SELECT try_cast(region_code AS blob) AS b FROM data LIMIT 2"},
                           content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "sql_type" and response.json()["field"] == "sql"


# --- the engine's limits ----------------------------------------------------------------------


def test_a_run_over_the_time_limit_is_stopped_refused_and_audited(city, household, settings):
    settings.GONGSHU_QUERY_TIMEOUT_SECONDS = 0.5
    officer, scope = _owner(city, household)
    head = _head()
    started = time.monotonic()
    with pytest.raises(limits.QueryLimit) as refused:
        query.run(officer, household, scope=scope, sql=HEAVY)
    assert time.monotonic() - started < 5  # stopped, not run to the end
    assert (refused.value.code, refused.value.status, refused.value.field) == ("query_timeout", 422, "sql")
    (event,) = _refusals(head, "query_timeout")
    assert event.data["snapshot_id"] == query.snapshot_of(household).pk and event.data["query"] == HEAVY
    assert not usage.logs().filter(audit_seq__gt=head).exists()  # nothing was read
    # the thread's engine is usable again at once
    assert query.run(officer, household, scope=scope, sql="SELECT count(*) AS n FROM data").rows == [(2001,)]


def test_a_run_over_the_memory_limit_is_refused_and_audited(city, household, settings):
    officer, scope = _owner(city, household)
    settings.GONGSHU_QUERY_MEMORY_MB = 24
    head = _head()
    with pytest.raises(limits.QueryLimit) as refused:
        query.run(officer, household, scope=scope, sql=WIDE, limit=5)
    assert refused.value.code == "query_too_large" and "24 MB" in refused.value.message
    assert _refusals(head, "query_too_large")
    settings.GONGSHU_QUERY_MEMORY_MB = 1024
    assert len(query.run(officer, household, scope=scope, sql=WIDE, limit=5).rows) == 5


def test_the_decrypted_input_counts_against_the_memory_limit_before_anything_is_decrypted(city, household, settings):
    """The snapshot is encrypted at rest (G1): its columns' decoded size is known from the first row group
    and counted before the run; a limit it leaves too small refuses the run before it waits for an engine
    slot, so before anything of the snapshot is decrypted for it."""
    snapshot = query.snapshot_of(household)
    assert snapshot.encrypted
    columns = set(snapshot.columns)
    counted = limits.input_bytes(storage.absolute(snapshot.path), encrypted=True, rows=snapshot.row_count, columns=columns)
    assert counted == query.arrow_of(snapshot).select(list(columns)).nbytes  # 2,001 rows: one row group, exact
    officer, scope = _owner(city, household)
    settings.GONGSHU_QUERY_MEMORY_MB = limits.ENGINE_FLOOR >> 20  # the engine's floor, with the input on top: too little
    settings.GONGSHU_QUERY_QUEUE_SECONDS = 30
    head = _head()
    started = time.monotonic()
    with limits.slot(), pytest.raises(limits.QueryLimit) as refused:  # every slot taken: only a refusal before the engine returns at once
        query.run(officer, household, scope=scope, sql="SELECT count(*) AS n FROM data")
    assert time.monotonic() - started < 5
    assert refused.value.code == "query_too_large" and "解密后" in refused.value.message
    assert _refusals(head, "query_too_large")
    settings.GONGSHU_QUERY_MEMORY_MB = (limits.ENGINE_FLOOR >> 20) + 1  # one MB more than the floor covers 0.2 MB of input
    assert query.run(officer, household, scope=scope, sql="SELECT count(*) AS n FROM data").rows == [(2001,)]


def test_runs_at_once_are_capped_and_the_one_refused_is_told_to_retry(client, city, household, settings):
    """Every engine slot taken (here by the test itself): a run waits GONGSHU_QUERY_QUEUE_SECONDS, then is
    refused with 503 and Retry-After, audited. Per-record lookups by key do not use the engine and go on."""
    settings.GONGSHU_QUERY_CONCURRENCY, settings.GONGSHU_QUERY_QUEUE_SECONDS = 1, 0.2
    officer, scope = _owner(city, household)
    token = issue_token(officer, name="t", scopes=["read"])[1]
    person = query.arrow_of(query.snapshot_of(household)).slice(0, 1).to_pylist()[0]
    head = _head()
    with limits.slot():
        with pytest.raises(limits.EngineBusy) as refused:
            query.run(officer, household, scope=scope, sql="SELECT count(*) AS n FROM data")
        assert (refused.value.code, refused.value.status) == ("engine_busy", 503)
        response = client.post(f"/api/v1/data/{household.pk}/query", {"purpose": "核对", "sql": "SELECT count(*) AS n FROM data"},
                               content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 503 and response.json()["code"] == "engine_busy" and int(response["Retry-After"]) >= 1
        assert query.run(officer, household, scope=scope, filters={"citizen_id": person["citizen_id"]}).rows
    assert len(_refusals(head, "engine_busy")) == 2
    assert query.run(officer, household, scope=scope, sql="SELECT count(*) AS n FROM data").rows == [(2001,)]  # freed
