"""The slices in a real headless Chromium: a data officer drafts and submits a catalog entry, the bureau
reviews it (deadline in working days shown), the service centre verifies, the bureau publishes; search,
upload and sharing; and the pages under the production content security policy (SEC3)."""

import os
import re
import threading
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from django.test import override_settings

from gongshu.demo import PASSWORD, current_demo_otp

pytestmark = [pytest.mark.browser, pytest.mark.committed]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = "Debian chromium is not installed (apt-get install chromium)"
        if os.environ.get("GONGSHU_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def _session(browser, live_server, username):
    page = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    if "/otp/" in page.url:
        page.fill("#id_code", current_demo_otp(username))
        page.click("button[type=submit]")
    assert "/login/" not in page.url and "/otp/" not in page.url, page.content()
    return page


def _shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _decide(page, live_server, number, button):
    page.goto(f"{live_server.url}/cases/{number}/")
    page.click(f"button:has-text('{button}')")
    page.wait_for_selector(".flash.success")


def test_catalog_entry_slice_in_the_browser(browser, live_server, committed_demo):
    """C2 end to end in the UI; every step lands on the timeline with its audit event."""
    officer = _session(browser, live_server, "officer")
    officer.goto(f"{live_server.url}/catalog/new/")
    officer.fill("#id_name", "流动人口居住登记信息")
    officer.click("button[type=submit]:has-text('保存草稿')")
    officer.wait_for_selector("#resource-status")
    assert "草稿" in officer.inner_text("#resource-status")

    # Submitting an incomplete entry is refused with reasons in Chinese and opens no case.
    officer.click("button:has-text('提交审核')")
    officer.wait_for_selector(".flash.error")
    assert "请填写数据资源摘要" in officer.content()

    officer.click("a:has-text('编辑')")
    officer.fill("#id_summary", "流动人口居住登记、变更登记和居住证办理信息。")
    officer.select_option("#id_data_format", "table")
    officer.select_option("#id_industry_category", "S")
    officer.select_option("#id_update_frequency", "daily")
    officer.select_option("#id_share_type", "conditional")
    officer.check("input[name=share_methods][value=api]")
    officer.click("button[type=submit]:has-text('保存草稿')")
    # A conditional share type without conditions or legal basis: inline field errors, nothing saved.
    officer.wait_for_selector("#field-share_conditions .errorlist")
    assert "有条件共享的数据须说明共享条件" in officer.inner_text("#field-share_conditions")
    assert "须提供法律法规依据" in officer.inner_text("#field-legal_basis")
    _shot(officer, "catalog-draft-errors")
    officer.fill("#id_share_conditions", "仅限依法履职需要")
    officer.fill("#id_legal_basis", "《居住证暂行条例》")
    officer.select_option("#id_category", label="P7 个人位置和出行信息")
    officer.fill("#id_items-0-name", "公民身份号码")
    officer.fill("#id_items-0-column", "citizen_id")
    officer.select_option("#id_items-0-grade", label="一般数据（敏感）")
    officer.select_option("#id_items-0-source_type", value="floating_population")
    officer.fill("#id_items-1-name", "姓名")
    officer.fill("#id_items-1-column", "name")
    officer.select_option("#id_items-1-grade", label="一般数据（敏感）")
    officer.click("button[type=submit]:has-text('保存草稿')")
    officer.wait_for_selector("#resource-status")
    resource_url = officer.url
    officer.click("button:has-text('提交审核')")
    officer.wait_for_selector(".flash.success")
    number = re.search(r"办件编号 (\w+)", officer.inner_text(".flash.success")).group(1)

    bureau = _session(browser, live_server, "bureau")
    bureau.goto(f"{live_server.url}/cases/")
    assert number in bureau.content()
    bureau.click(f"a:has-text('{number}')")
    due = bureau.inner_text("#case-due")
    assert re.search(r"\d{4}-\d{2}-\d{2}（剩 \d+ 个工作日）", due), due
    assert "SYS Art. 12(3)" in due  # the deadline cites its article
    _shot(bureau, "case-review")
    _decide(bureau, live_server, number, "审核通过")

    centre = _session(browser, live_server, "centre")
    _decide(centre, live_server, number, "校核通过")
    _decide(bureau, live_server, number, "复核通过并发布")
    assert "已发布" in bureau.inner_text("#case-state")
    steps = bureau.locator(".timeline li")
    assert steps.count() == 4
    assert all("审计 #" in steps.nth(i).inner_text() for i in range(4))
    _shot(bureau, "case-published")

    officer.goto(resource_url)
    assert "已发布" in officer.inner_text("#resource-status")
    officer.goto(f"{live_server.url}/catalog/?q=流动人口")
    assert "流动人口居住登记信息" in officer.inner_text("table")
    _shot(officer, "catalog-list")


def test_search_open_and_compare_versions_in_the_browser(browser, live_server, committed_demo):
    """C7 and C2 in the UI: search in Chinese, open the entry, compare its two versions."""
    page = _session(browser, live_server, "staff")
    page.goto(f"{live_server.url}/catalog/")
    page.fill("input[name=q]", "户籍")
    page.click("#catalog-search button[type=submit]")
    page.wait_for_selector("#catalog-results")
    first = page.locator("#catalog-results tr").nth(1)
    assert "户籍人口基本信息" in first.inner_text()
    page.fill("input[name=q]", "社保")
    page.click("#catalog-search button[type=submit]")
    assert "社会保险参保信息" in page.inner_text("#catalog-results")
    page.fill("input[name=q]", "户籍")
    page.click("#catalog-search button[type=submit]")
    page.click("#catalog-results a:has-text('户籍人口基本信息')")
    page.wait_for_selector("#versions")
    assert "v2" in page.inner_text("#versions")
    _shot(page, "catalog-entry")
    page.click("#compare-versions")
    page.wait_for_selector("#field-changes")
    assert "法律法规依据" in page.inner_text("#field-changes")
    assert "《黑龙江省户口登记管理规定》" in page.inner_text("#field-changes .new")
    items = page.inner_text("#item-changes")
    assert "曾用名" in items and "新增" in items
    _shot(page, "catalog-compare")


def test_upload_a_gbk_file_and_read_the_error_report(browser, live_server, committed_demo, tmp_path):
    """A1, A3 in the UI: a data officer uploads a GBK CSV; problem rows are listed; the snapshot is published."""
    import random

    from catalog.models import Resource
    from foundation.identifiers import random_citizen_id

    household = Resource.objects.get(name="户籍人口基本信息")
    rng = random.Random(12)
    lines = ["公民身份号码,姓名,性别,出生日期,民族,户籍地址,户号,户籍地区划代码"]
    for i in range(400):
        cid = random_citizen_id(rng, "230505")
        gender = "男" if int(cid[16]) % 2 else "女"
        lines.append(f"{cid},王芳,{gender},{cid[6:10]}-{cid[10:12]}-{cid[12:14]},汉族,双鸭山市四方台区振兴路{i}号,H{i},230505")
    bad = lines[7].split(",")
    bad[0] = bad[0][:-1] + ("0" if bad[0][-1] != "0" else "1")
    lines[7] = ",".join(bad)
    path = tmp_path / "户籍人口.csv"
    path.write_bytes("\n".join(lines).encode("gbk"))

    page = _session(browser, live_server, "officer")
    page.goto(f"{live_server.url}/data/{household.pk}/")
    page.set_input_files("#upload input[type=file]", str(path))
    page.click("#upload button[type=submit]")
    page.wait_for_selector("#batch-progress")  # queued: the page shows progress and refreshes itself
    assert "排队中" in page.inner_text("#batch-status")
    _shot(page, "data-batch-queued")
    from warehouse.services import run_queued_uploads

    assert run_queued_uploads() == 1  # the worker's turn
    page.wait_for_function("document.querySelector('#batch-status').innerText.includes('已发布')", timeout=10_000)
    issues = page.inner_text("#issues")
    assert "校验位" in issues and "check_digit" not in issues and "8" in issues  # row 8 of the file (header is row 1)
    _shot(page, "data-batch")
    page.goto(f"{live_server.url}/data/")
    assert "户籍人口基本信息" in page.inner_text("#freshness")
    _shot(page, "data-freshness")


def test_sharing_slice_in_the_browser(browser, live_server, committed_demo):
    """S3/S4 in the UI: a request from the catalog entry, the provider's decision in its queue with the
    deadline, the grant with its call statistics, and the bureau's sharing dashboard."""
    from catalog.models import Resource

    insurance = Resource.objects.get(name="社会保险参保信息")
    civil = _session(browser, live_server, "cdo_civil_affairs")
    civil.goto(f"{live_server.url}/catalog/{insurance.pk}/")
    civil.click("#request-share")
    civil.fill("#id_scenario", "城乡低保对象参保状态核验")
    civil.fill("#id_basis", "《社会救助暂行办法》第十一条")
    civil.check("input[name=items][value=citizen_id]")
    civil.check("input[name=items][value=status]")
    _shot(civil, "share-request")
    civil.click("#share-request button[type=submit]")
    civil.wait_for_selector(".flash.success")
    number = civil.url.rstrip("/").rsplit("/", 1)[1]
    assert number.startswith("GX") and "提供部门审核" in civil.content()

    provider = _session(browser, live_server, "cdo_human_resources")
    provider.goto(f"{live_server.url}/cases/?queue=1")
    assert number in provider.content()
    _decide(provider, live_server, number, "同意共享")

    from core.actor import act_as
    from core.models import User
    from sharing import services
    from sharing.models import Grant
    from warehouse import query

    grant = Grant.objects.get(request__case__number=number)
    agency = act_as(User.objects.get(username="cdo_civil_affairs"), channel="api")
    for citizen in query.arrow_of(query.snapshot_of(insurance)).column("citizen_id").to_pylist()[:12]:
        services.call(agency, grant.ref, filters={"citizen_id": citizen}, purpose=grant.purpose)
    civil.goto(f"{live_server.url}/share/grants/{grant.ref}/")
    assert "调用 12 次" in civil.inner_text("#grant-stats")
    civil.wait_for_selector("#chart-calls svg")  # ECharts, served from the platform itself
    _shot(civil, "share-grant")
    bureau = _session(browser, live_server, "bureau")
    bureau.goto(f"{live_server.url}/share/")
    bureau.wait_for_selector("#chart-agencies svg")
    assert grant.ref in bureau.inner_text("#grants")
    _shot(bureau, "share-dashboard")


@pytest.mark.parametrize("username", ["supervisor", "public"])
def test_the_header_fits_on_one_line_at_1280_pixels(browser, live_server, committed_demo, username):
    """Issue 14 item 9: the header is one line for a role with the longest menu (the supervisor's is the
    bureau's; an administrator's sign-in would spend a one-time code the other walks need), in Chinese and
    in English."""
    page = _session(browser, live_server, username)
    for language in ("zh-hans", "en"):
        page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        page.goto(f"{live_server.url}/")
        header = page.locator("header.top").bounding_box()
        line = page.locator("header nav a").first.bounding_box()
        assert header["height"] < 2.2 * line["height"] + 30, (language, header, line)
        tops = {round(box["y"]) for box in page.locator("header.top > *").evaluate_all(
            "els => els.map(e => e.getBoundingClientRect()).map(r => ({y: r.top + r.height / 2}))")}
        assert max(tops) - min(tops) <= 6, (language, tops)  # every part on the same line
        hidden = page.locator("header nav").evaluate("nav => nav.scrollWidth - nav.clientWidth")
        assert hidden <= 1, (language, hidden)  # and every menu item in view
    _shot(page, f"header-{username}")
    page.context.close()


def test_in_a_browser_the_pages_work_under_the_policy_and_an_injected_script_does_not_run(browser, committed_demo):
    """In Chromium: the charts draw and the inline bits run under the policy; a script injected into the page
    is blocked, and the browser reports no other violation."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.handlers.wsgi import WSGIHandler

    from sharing.models import Grant

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    with override_settings(GONGSHU_CSP=True):
        server = make_server("127.0.0.1", 0, StaticFilesHandler(WSGIHandler()), handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    ref = Grant.objects.filter(holder__name="双鸭山市民政局").values_list("ref", flat=True).first()
    try:
        page = browser.new_context().new_page()
        violations = []
        page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)
        page.goto(f"{base}/login/")
        page.fill("#id_username", "cdo_civil_affairs")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}/share/")
        page.wait_for_selector("#chart-states svg")
        assert page.evaluate("getComputedStyle(document.getElementById('chart-states')).height") == "240px"
        if ref:
            page.goto(f"{base}/share/grants/{ref}/")
            page.wait_for_selector("#chart-calls svg")
        assert violations == []
        page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.injected = 1';"
                      " document.body.appendChild(s); }")
        assert page.evaluate("window.injected === undefined")
        assert len(violations) == 1 and "script-src" in violations[0]
        page.context.close()
    finally:
        server.shutdown()
