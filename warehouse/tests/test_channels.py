"""A1 API push, A2 freshness, A6 usage logs and retention, and the warehouse pages."""

import datetime as dt
import random

import pytest
from django.utils import timezone

from catalog.models import Resource
from foundation.actor import system_actor
from foundation.identifiers import random_citizen_id
from core.models import Membership, Notification
from core.services import issue_token
from warehouse import query, services, usage
from warehouse.models import Batch, Snapshot, UsageLog
from warehouse.selectors import freshness
from warehouse.services import flag_stale_data, purge_usage_logs

pytestmark = pytest.mark.django_db


@pytest.fixture
def household():
    return Resource.objects.get(name="户籍人口基本信息")


def _token(city, username, scopes=("read", "write")):
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_token(city.actor(username), name='t', scopes=list(scopes))[1]}"}


def _record(rng):
    cid = random_citizen_id(rng, "230503")
    return {"citizen_id": cid, "name": "李娜", "gender": "男" if int(cid[16]) % 2 else "女",
            "birth_date": f"{cid[6:10]}-{cid[10:12]}-{cid[12:14]}", "address": "双鸭山市岭东区中心路1号",
            "household_no": "H99", "region_code": "230503"}


def test_an_agency_pushes_records_with_its_token(client, city, household):
    rng = random.Random(4)
    records = [_record(rng) for _ in range(20)]
    response = client.post(f"/api/v1/data/{household.pk}/records", {"mode": "delta", "records": records},
                           content_type="application/json", **_token(city, "officer"))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["channel"], body["status"], body["rows_accepted"]) == ("api", "published", 20)
    assert Snapshot.objects.get(resource=household, version=body["snapshot_version"]).row_count == 2021


def test_a_pushed_batch_with_bad_records_is_refused_with_its_issues(client, city, household):
    rng = random.Random(5)
    records = [_record(rng) for _ in range(10)]
    records[3]["citizen_id"] = records[3]["citizen_id"][:-1] + "Y"
    response = client.post(f"/api/v1/data/{household.pk}/records", {"records": records},
                           content_type="application/json", **_token(city, "officer"))
    assert response.status_code == 422
    assert response.json()["code"] == "batch_refused" and response.json()["field"] is None  # the error shape, and the batch
    issue = response.json()["issues"][0]
    assert (issue["row"], issue["column"], issue["rule"]) == (5, "citizen_id", "check_digit")


def test_another_agency_cannot_push(client, city, household):
    response = client.post(f"/api/v1/data/{household.pk}/records", {"records": [_record(random.Random(1))]},
                           content_type="application/json", **_token(city, "cdo_civil_affairs"))
    assert response.status_code == 403


def test_query_over_http_returns_a_receipt(client, city, household):
    response = client.post(f"/api/v1/data/{household.pk}/query",
                           {"purpose": "统计", "sql": "SELECT count(*) AS n FROM data"},
                           content_type="application/json", **_token(city, "bureau", ["read"]))
    body = response.json()
    assert body["rows"] == [[2001]]
    from audit.models import Event

    assert Event.objects.get(seq=body["receipt"]["event"]).hash == body["receipt"]["hash"]
    refused = client.post(f"/api/v1/data/{household.pk}/query", {"purpose": "x", "sql": "SELECT * FROM read_csv('/etc/passwd')"},
                          content_type="application/json", **_token(city, "bureau", ["read"]))
    assert refused.status_code == 403 and refused.json()["code"] == "sql_table"


def test_stale_data_is_flagged_to_provider_and_bureau_once(city, household):
    Snapshot.objects.filter(resource=household).update(created_at=timezone.now() - dt.timedelta(days=3))
    row = next(r for r in freshness(system_actor()) if r.resource == household)
    assert row.stale and row.allowed_days == 2  # daily data, rulebook freshness.daily
    assert flag_stale_data(system_actor()) >= 1
    notes = Notification.objects.filter(kind="stale", link=f"/data/{household.pk}/")
    assert {n.organisation for n in notes} == {city.police, city.bureau}
    again = flag_stale_data(system_actor())
    assert Notification.objects.filter(kind="stale", link=f"/data/{household.pk}/").count() == 2 and again == 0


def test_fresh_data_is_not_flagged(city, household):
    row = next(r for r in freshness(system_actor()) if r.resource == household)
    assert not row.stale


def test_usage_logs_are_kept_three_years(city, household):
    officer = city.actor("officer")
    query.run(officer, household, scope=query.scope_for(officer, household, purpose="核对"), limit=1)
    usage.logs().update(at=timezone.now() - dt.timedelta(days=365 * 2))
    assert purge_usage_logs(system_actor()) == 0
    UsageLog.objects.update(at=timezone.now() - dt.timedelta(days=365 * 3 + 10))
    count = UsageLog.objects.count()
    assert count and purge_usage_logs(system_actor()) == count
    assert not UsageLog.objects.exists()


def test_usage_log_retention_counts_calendar_years_A6(city, household):
    """Issue 13 item 9: three years are counted by the calendar (SYS Art. 20), not as 3 x 366 days: a log a
    day older than three years is removed, one a day younger is kept."""
    from core.workdays import add_months

    officer = city.actor("officer")
    for _ in range(2):
        query.run(officer, household, scope=query.scope_for(officer, household, purpose="核对"), limit=1)
    usage.catch_up()
    now = timezone.localtime()
    three_years = add_months(now.date(), -36)
    at = now.replace(year=three_years.year, month=three_years.month, day=three_years.day)
    old, young = UsageLog.objects.order_by("pk")[:2]
    UsageLog.objects.filter(pk=old.pk).update(at=at - dt.timedelta(days=1))
    UsageLog.objects.filter(pk=young.pk).update(at=at + dt.timedelta(days=1))
    UsageLog.objects.exclude(pk__in=[old.pk, young.pk]).delete()
    assert purge_usage_logs(system_actor()) == 1
    assert list(UsageLog.objects.values_list("pk", flat=True)) == [young.pk]


def test_usage_logs_per_agency(client, city, household):
    bureau = city.actor("bureau")
    query.run(bureau, household, scope=query.scope_for(bureau, household, purpose="统计"), limit=1)
    mine = client.get("/api/v1/data/usage-logs", **_token(city, "officer", ["read"])).json()
    assert any(log["purpose"] == "统计" for log in mine)  # the provider sees who used its data
    other = client.get("/api/v1/data/usage-logs", **_token(city, "cdo_civil_affairs", ["read"])).json()
    assert not any(log["purpose"] == "统计" for log in other)


def test_upload_page_queues_the_file_the_worker_publishes_it_and_the_page_shows_the_error_report_A1_A3(
        client, city, sign_in, household, tmp_path):
    sign_in("officer")
    rng = random.Random(8)
    lines = ["公民身份号码,姓名,性别,出生日期,民族,户籍地址,户号,户籍地区划代码"]
    for i in range(300):
        r = _record(rng)
        lines.append(",".join([r["citizen_id"], r["name"], r["gender"], r["birth_date"], "汉族", r["address"], f"H{i}", "230503"]))
    lines[5] = lines[5].replace(lines[5].split(",")[0], lines[5].split(",")[0][:-1] + "Y")
    upload = tmp_path / "户籍.csv"
    upload.write_bytes("\n".join(lines).encode("gbk"))
    with upload.open("rb") as fh:
        response = client.post(f"/data/{household.pk}/", {"file": fh, "mode": "full"})
    assert response.status_code == 302
    waiting = client.get(response["Location"]).content.decode()
    assert "排队中" in waiting and 'http-equiv="refresh"' in waiting and "batch-progress" in waiting
    batch = Batch.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))
    assert batch.status == "queued" and (services.uploads_root() / batch.upload / "upload").exists()

    assert services.run_queued_uploads() == 1  # what the worker does
    assert services.run_queued_uploads() == 0  # once
    batch.refresh_from_db()
    assert batch.status == "published" and batch.submitted_by.username == "officer" and batch.stage == "publishing"
    assert not (services.uploads_root() / batch.upload).exists()  # the upload is not kept beside the snapshot
    page = client.get(response["Location"])
    assert "已发布" in page.content.decode() and "<td>校验位</td>" in page.content.decode()
    assert "check_digit" not in page.content.decode()  # the rule by its name, not its code (issue 14 item 6)
    assert 'http-equiv="refresh"' not in page.content.decode()
    report = client.get(response["Location"] + "report.csv")
    assert report.content.startswith(b"\xef\xbb\xbf") and "行号" in report.content.decode("utf-8-sig")
    for path in ("/data/", f"/data/{household.pk}/", "/data/usage/"):
        assert client.get(path).status_code == 200


@pytest.mark.parametrize(("name", "data", "encoding", "message"), [
    ("户籍.exe", b"MZ", "", "不支持的文件类型"),
    ("户籍.csv", b"a,b\n", "big5", "不支持的编码"),
])
def test_an_upload_that_can_be_refused_at_once_is_never_queued_A1(client, city, sign_in, household, tmp_path, name, data,
                                                                   encoding, message):
    sign_in("officer")
    before, stored = Batch.objects.count(), set(services.uploads_root().glob("*"))
    upload = tmp_path / name
    upload.write_bytes(data)
    with upload.open("rb") as fh:
        response = client.post(f"/data/{household.pk}/", {"file": fh, "mode": "full", "encoding": encoding}, follow=True)
    assert message in response.content.decode()
    assert Batch.objects.count() == before and set(services.uploads_root().glob("*")) == stored


def test_a_queued_upload_whose_uploader_lost_the_right_is_refused_when_run_A1(city, household, tmp_path):
    officer = city.actor("officer")
    batch = services.queue_upload(officer, household, [b"x"], filename="a.csv", size=1)
    Membership.objects.filter(user=officer.user, organisation=officer.organisation).delete()
    assert services.run_queued_uploads() == 1
    batch.refresh_from_db()
    assert batch.status == "refused" and batch.message
    assert not Snapshot.objects.filter(batch=batch).exists()


def test_another_agency_sees_no_batches(client, sign_in, household):
    sign_in("cdo_civil_affairs")
    assert client.get(f"/data/{household.pk}/").status_code == 404
