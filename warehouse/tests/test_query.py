"""The one query path: scope, SQL policy, masking by grade, usage log and audit receipt (DESIGN rule 3)."""

import string

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from audit.models import Event
from catalog.models import Resource
from foundation.errors import PermissionDenied, ValidationFailed
from warehouse import query, usage

pytestmark = pytest.mark.django_db


@pytest.fixture
def household():
    return Resource.objects.get(name="户籍人口基本信息")


def _raw(household):
    return query.arrow_of(query.snapshot_of(household)).to_pylist()


def test_the_provider_reads_its_own_data_unmasked(city, household):
    officer = city.actor("officer")
    person = _raw(household)[0]
    result = query.run(officer, household, scope=query.scope_for(officer, household, purpose="户籍核对"),
                       filters={"citizen_id": person["citizen_id"]})
    assert result.records[0]["name"] == person["name"]


def test_the_bureau_reads_it_masked_by_grade(city, household):
    bureau = city.actor("bureau")
    person = _raw(household)[0]
    scope = query.scope_for(bureau, household, purpose="统计分析")
    (row,) = query.run(bureau, household, scope=scope, filters={"citizen_id": person["citizen_id"]}).records
    assert row["citizen_id"] != person["citizen_id"] and len(row["citizen_id"]) == 64  # important: salted hash
    assert row["name"] == person["name"][0] + "*" * (len(person["name"]) - 1)  # sensitive: partial
    assert row["address"] in ("双鸭山市尖山区", "双鸭山市岭东区", "双鸭山市四方台区", "双鸭山市宝山区", "双鸭山市集贤县",
                              "双鸭山市友谊县", "双鸭山市宝清县", "双鸭山市饶河县")  # generalised to the district
    assert person["address"].startswith(row["address"])


def test_an_agency_without_a_grant_is_refused(city, household):
    with pytest.raises(PermissionDenied) as exc:
        query.scope_for(city.actor("cdo_civil_affairs"), household, purpose="婚姻登记")
    assert exc.value.code == "no_grant"


def test_a_purpose_is_required(city, household):
    with pytest.raises(ValidationFailed):
        query.scope_for(city.actor("officer"), household, purpose=" ")


def test_every_read_is_logged_with_a_verifiable_receipt(city, household):
    bureau = city.actor("bureau")
    result = query.run(bureau, household, scope=query.scope_for(bureau, household, purpose="统计"),
                       sql="SELECT gender, count(*) AS n FROM data GROUP BY gender")
    event = Event.objects.get(seq=result.audit_seq)
    assert event.hash == result.audit_hash and event.action == "warehouse.query"
    log = usage.logs().get(audit_seq=result.audit_seq)
    assert (log.organisation, log.purpose, log.row_count, log.items) == (city.bureau, "统计", 2, ["gender", "n"])


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM data", "UPDATE data SET name = 'x'", "DROP TABLE data", "CREATE TABLE t AS SELECT * FROM data",
        "COPY data TO '/tmp/x.csv'", "ATTACH '/tmp/x.db'", "PRAGMA database_list", "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_parquet('/tmp/*.parquet')", "SELECT * FROM raw", "SELECT * FROM 'data.parquet'",
        "SELECT read_text('/etc/passwd')", "SELECT getenv('HOME')", "SELECT * FROM data; SELECT 1", "INSTALL httpfs",
        "SET enable_external_access = true", "SELECT * FROM duckdb_settings()", "SELECT * FROM glob('/*')",
        "WITH data AS (SELECT 1 AS x) SELECT * FROM data", "SELECT * INTO t FROM data", "LOAD httpfs",
    ],
)
def test_anything_but_a_read_of_data_is_refused(city, household, sql):
    officer = city.actor("officer")
    before = usage.logs().count()
    with pytest.raises((PermissionDenied, ValidationFailed)):
        query.run(officer, household, scope=query.scope_for(officer, household, purpose="x"), sql=sql)
    assert usage.logs().count() == before


def test_columns_outside_the_scope_are_refused(city, household):
    officer = city.actor("officer")
    scope = query.Scope("grant", "婚姻登记核验", columns=frozenset({"citizen_id", "gender"}))
    with pytest.raises(PermissionDenied) as exc:
        query.run(officer, household, scope=scope, sql="SELECT name FROM data")
    assert exc.value.code == "sql_column"
    result = query.run(officer, household, scope=scope, sql="SELECT * FROM data LIMIT 3")
    assert result.columns == ["citizen_id", "gender"]


def test_lookups_only_by_key_items(city, household):
    officer = city.actor("officer")
    with pytest.raises(PermissionDenied):
        query.run(officer, household, scope=query.scope_for(officer, household, purpose="x"), filters={"name": "张伟"})


def test_row_filters_of_the_scope_apply_before_the_query(city, household):
    officer = city.actor("officer")
    scope = query.Scope("grant", "区级回流", row_filter={"region_code": ("230502",)})
    rows = query.run(officer, household, scope=scope, sql="SELECT DISTINCT region_code FROM data").rows
    assert rows == [("230502",)]


def test_as_of_an_unknown_version_is_a_clear_error(city, household):
    officer = city.actor("officer")
    with pytest.raises(Exception) as exc:
        query.run(officer, household, scope=query.scope_for(officer, household, purpose="x"), as_of=99)
    assert getattr(exc.value, "code", "") == "no_snapshot"


# --- fuzz: whatever SQL comes in, nothing outside the scope comes out -------------------------

_COLUMNS = ["citizen_id", "name", "gender", "birth_date", "address", "region_code", "household_no", "ethnicity"]
_FUNCS = ["count", "upper", "lower", "length", "substr", "read_csv", "read_text", "getenv", "md5", "concat", "coalesce"]
_TABLES = ["data", "raw", "read_csv('/etc/passwd')", "data d", "(SELECT * FROM data) s", "duckdb_tables()"]
_token = st.sampled_from(_COLUMNS + ["*", "1", "'x'", "NULL"])


@st.composite
def _sql(draw):
    column = draw(_token)
    expr = draw(st.one_of(st.just(column), st.builds(lambda f, c: f"{f}({c})", st.sampled_from(_FUNCS), _token)))
    select = ", ".join([expr] + draw(st.lists(_token, max_size=2)))
    where = draw(st.sampled_from(["", " WHERE gender = '男'", " WHERE name LIKE '%伟%'", " WHERE citizen_id IS NOT NULL",
                                  f" WHERE {draw(_token)} = {draw(_token)}"]))
    tail = draw(st.sampled_from(["", " LIMIT 5", " ORDER BY 1", "; SELECT * FROM raw", " UNION SELECT name FROM data"]))
    noise = draw(st.text(alphabet=string.ascii_letters + " ;()'*", max_size=4))
    return f"SELECT {select} FROM {draw(st.sampled_from(_TABLES))}{where}{tail}{noise}"


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sql=_sql())
def test_fuzz_nothing_outside_the_scope_is_ever_returned(city, household, sql):
    officer = city.actor("officer")
    scope = query.Scope("grant", "性别统计", columns=frozenset({"gender", "region_code"}))
    secrets = set()
    for person in _raw(household):
        secrets.update({person["citizen_id"], person["name"], person["address"], person["household_no"]})
    try:
        result = query.run(officer, household, scope=scope, sql=sql, limit=50)
    except (PermissionDenied, ValidationFailed):
        return
    for row in result.rows:
        for cell in row:
            assert str(cell) not in secrets, (sql, cell)


def test_a_key_lookup_finds_the_same_rows_as_a_scan(city, household):
    from warehouse import lookup

    officer = city.actor("officer")
    scope = query.scope_for(officer, household, purpose="核对")
    people = _raw(household)
    for person in (people[0], people[len(people) // 2], people[-1]):
        fast = query.run(officer, household, scope=scope, filters={"citizen_id": person["citizen_id"]}).records
        assert fast == [{k: v for k, v in person.items()}] or fast[0]["citizen_id"] == person["citizen_id"]
        scan = query.run(officer, household, scope=scope,
                         sql=f"SELECT * FROM data WHERE citizen_id = '{person['citizen_id']}'").records
        assert [{k: str(v) for k, v in r.items()} for r in fast] == [{k: str(v) for k, v in r.items()} for r in scan]
    assert query.run(officer, household, scope=scope, filters={"citizen_id": "110105194912310021"}).rows == []
    several = [p["citizen_id"] for p in people[:3]]
    assert len(lookup.find(query.snapshot_of(household), "citizen_id", several)) == 3


def test_the_usage_log_is_copied_from_the_chain_once_and_never_lags_a_reader_A6(city, household):
    """A read writes its audit event; the usage log row comes from it — for any reader at once, for the
    worker in batches — exactly once, whoever copies first."""
    from gongshu.jobs import copy_usage_logs
    from warehouse.models import UsageLog

    officer = city.actor("officer")
    scope = query.scope_for(officer, household, purpose="核对")
    usage.catch_up()
    results = [query.run(officer, household, scope=scope, limit=1) for _ in range(3)]
    assert not UsageLog.objects.filter(audit_seq__in=[r.audit_seq for r in results]).exists()  # not yet copied
    assert copy_usage_logs() == "3 usage log row(s) copied from the audit chain"
    assert usage.catch_up() == 0 and copy_usage_logs().startswith("0 ")
    log = usage.logs().get(audit_seq=results[0].audit_seq)
    assert (log.organisation, log.resource, log.snapshot, log.purpose, log.scope, log.channel) == (
        household.provider, household, results[0].snapshot, "核对", "owner", officer.channel)
    assert UsageLog.objects.filter(audit_seq__in=[r.audit_seq for r in results]).count() == 3
    assert log.at == Event.objects.get(seq=results[0].audit_seq).at


def test_a_read_is_copied_whole_even_when_its_user_has_gone_since_A6(city, household):
    """The copy reads the event itself: every column as recorded; a user removed before the copy leaves
    only the user empty; events of other actions and refusals are not copied."""
    from audit.services import record
    from core.actor import act_as
    from core.models import Membership, User
    from warehouse.models import UsageLog

    usage.catch_up()
    officer = city.actor("officer")
    temp = User.objects.create(username="temp_clerk")
    Membership.objects.create(user=temp, organisation=officer.organisation,
                              role=Membership.objects.filter(user=officer.user).first().role)
    clerk = act_as(temp, officer.organisation.pk, channel="api")
    person = _raw(household)[0]
    result = query.run(clerk, household, scope=query.scope_for(clerk, household, purpose="临时核对"),
                       filters={"citizen_id": person["citizen_id"]})
    record(clerk, "warehouse.flag_stale_data", household, detail={"purpose": "x"})  # another action on it, not a read
    record(clerk, usage.ACTION, household, outcome=Event.Outcome.REFUSED, detail={"error": {"code": "x"}})  # a refusal
    temp.delete()
    assert usage.catch_up() == 1
    log = UsageLog.objects.get(audit_seq=result.audit_seq)
    event = Event.objects.get(seq=result.audit_seq)
    assert log.user is None and log.organisation == officer.organisation and log.resource == household
    assert (log.at, log.snapshot, log.purpose, log.scope, log.grant_ref, log.items, log.row_count, log.channel, log.query) == (
        event.at, result.snapshot, "临时核对", "owner", "", result.columns, 1, "api", "lookup citizen_id=?")


def test_the_answer_row_cap_is_the_rulebooks_S4(city, settings, tmp_path):
    """Issue 13 item 9: the per-answer row cap is rule query.answer_rows (platform default), not a literal."""
    import yaml

    from foundation import rulebook
    household = Resource.objects.get(name="户籍人口基本信息")
    officer = city.actor("officer")
    scope = query.scope_for(officer, household, purpose="户籍核对")
    assert query.run(officer, household, scope=scope, limit=500).rows
    data = yaml.safe_load((rulebook.RULEBOOK_DIR / "shuangyashan.yaml").read_text(encoding="utf-8"))
    data["rules"]["query.answer_rows"]["value"] = 100
    path = tmp_path / "small_answers.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    settings.GONGSHU_RULEBOOK = str(path)
    with pytest.raises(ValidationFailed) as refused:
        query.run(officer, household, scope=scope, limit=500)
    assert refused.value.field == "limit" and "100" in refused.value.message
    assert len(query.run(officer, household, scope=scope, limit=100).rows) <= 100
