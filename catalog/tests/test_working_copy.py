"""What is published governs (C2, S2, O3; SYS Art. 13, 26, 37): a working copy changes nothing another
party sees or relies on until its review publishes it, and then everything changes together."""

import datetime as dt

import pytest
from django.utils import timezone

from catalog import selectors
from catalog.models import Resource, ResourceDraft
from catalog.services import _item_dicts, draft_resource, submit_resource, update_draft, working
from foundation.errors import Conflict
from core.services import issue_token
from sharing import services as sharing
from sharing.models import ShareRequest
from warehouse import query
from warehouse.services import _columns
from workflow.services import transition

from .factories import entry_fields, entry_items

pytestmark = pytest.mark.django_db
DRAFT_NAME = "户籍人口信息修订稿"


@pytest.fixture
def household():
    return Resource.objects.get(name="户籍人口基本信息")


def _bearer(city, username, scopes=("read",)):
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_token(city.actor(username), name='核对', scopes=list(scopes))[1]}"}


def _observe(client, city, household) -> dict:
    """Everything other parties see or rely on, read the way each of them reads it."""
    household = Resource.objects.get(pk=household.pk)
    person = query.arrow_of(query.snapshot_of(household)).slice(0, 1).to_pylist()[0]
    bureau = city.actor("bureau")
    looked_up = query.run(bureau, household, scope=query.scope_for(bureau, household, purpose="核对"),
                          filters={"citizen_id": person["citizen_id"]}).records[0]
    api = client.get(f"/api/v1/catalog/resources/{household.pk}", **_bearer(city, "cdo_civil_affairs")).json()
    client.force_login(city.user("cdo_civil_affairs"))
    searched = [r.name for r in selectors.catalog_list(city.actor("cdo_civil_affairs"), q="户籍人口信息修订稿")]
    return {
        "live": (household.name, household.share_type, household.open_type, household.status),
        "ingestion schema": [c.column for c in _columns(household)],
        "query masks": looked_up["gender"] == person["gender"],
        "query items": sorted(looked_up),
        "other organisation's API": (api["name"], api["status"], api["share_type"], [i["column"] for i in api["items"]]),
        "other organisation's page": DRAFT_NAME in client.get(f"/catalog/{household.pk}/").content.decode(),
        "search": searched,
        "anonymous": household.pk in set(selectors.restrict(None).values_list("pk", flat=True)),
        "CKAN search": client.get("/api/3/action/package_search", {"q": "户籍"}).json()["result"]["count"],
        "DCAT export": DRAFT_NAME in client.get("/catalog.jsonld").content.decode(),
        "CSV export": DRAFT_NAME in client.get("/catalog.csv").content.decode("utf-8-sig"),
        "negative list": [row[3] for row in selectors.list_rows(bureau, "negative")],
        "responsibility list": household.name in [row[3] for row in selectors.list_rows(bureau, "responsibility")],
    }


def _ask(city, household, username="cdo_health"):
    return sharing.request_share(
        city.actor(username), household, scenario="出生医学证明核验", basis="《母婴保健法》", method="api",
        items=["citizen_id", "name"], valid_until=timezone.localdate() + dt.timedelta(days=30),
    )


def test_a_draft_changes_nothing_others_rely_on_until_it_is_published_C2_S2_O3(client, city, household):
    officer = city.actor("officer")
    before = _observe(client, city, household)
    items = [i for i in _item_dicts(household.items.all()) if i["column"] != "ethnicity"]
    for item in items:
        if item["column"] == "gender":
            item["grade"] = "important"
    update_draft(officer, household, items=items, fields={
        "name": DRAFT_NAME, "share_type": "not_shared", "legal_basis": "《居民身份证法》第十九条",
        "share_conditions": "", "open_type": "unconditional", "change_reason": "法律依据变化",
    })
    assert _observe(client, city, household) == before
    request = _ask(city, household)  # a draft tightening refuses no new share request
    assert request.case.state == "provider_review"
    transition(city.actor("cdo_health"), request.case, "withdraw")

    case = submit_resource(officer, household)  # in review: still the published entry for everyone else
    assert _observe(client, city, household) == before
    transition(city.actor("bureau"), case, "publish")

    after = _observe(client, city, household)
    assert after["live"] == (DRAFT_NAME, "not_shared", "unconditional", "published")
    assert "ethnicity" not in after["ingestion schema"] and "ethnicity" in before["ingestion schema"]
    assert (before["query masks"], after["query masks"]) == (True, False)  # gender is hashed as important data now
    assert "ethnicity" not in after["query items"]
    assert after["other organisation's API"][0] == DRAFT_NAME and after["other organisation's page"]
    assert after["search"] == [DRAFT_NAME] and before["search"] == []
    assert (before["anonymous"], after["anonymous"]) == (False, True)
    assert after["DCAT export"] and after["CSV export"]
    assert DRAFT_NAME in after["negative list"] and not after["responsibility list"]
    with pytest.raises(Conflict) as refused:
        _ask(city, Resource.objects.get(pk=household.pk))
    assert refused.value.code == "not_shared"
    assert not ResourceDraft.objects.filter(resource=household).exists()


def test_the_working_copy_is_the_providers_and_its_reviewers_only_C2(client, city, household):
    update_draft(city.actor("officer"), household, fields={"summary": "修订中的摘要"})
    for username in ("officer", "bureau", "centre"):
        response = client.get(f"/api/v1/catalog/resources/{household.pk}/draft", **_bearer(city, username))
        assert response.status_code == 200, username
        assert (response.json()["summary"], response.json()["status"]) == ("修订中的摘要", "draft")
    for username in ("cdo_civil_affairs", "county_bureau", "operator"):
        response = client.get(f"/api/v1/catalog/resources/{household.pk}/draft", **_bearer(city, username))
        assert response.status_code == 404, username
    published = client.get(f"/api/v1/catalog/resources/{household.pk}", **_bearer(city, "officer")).json()
    assert published["summary"] != "修订中的摘要" and published["status"] == "published"


def test_the_provider_sees_its_pending_changes_against_the_version_in_force_C2(client, city, household):
    update_draft(city.actor("officer"), household, fields={"summary": "修订中的摘要"})
    client.force_login(city.user("officer"))
    page = client.get(f"/catalog/{household.pk}/").content.decode()
    assert 'id="pending-changes"' in page and "修订中的摘要" in page
    client.force_login(city.user("cdo_civil_affairs"))
    page = client.get(f"/catalog/{household.pk}/").content.decode()
    assert 'id="pending-changes"' not in page and "修订中的摘要" not in page and "草稿" not in page


def test_a_patch_answers_the_working_copy_and_leaves_the_entry_as_published_C2(client, city, household):
    response = client.patch(f"/api/v1/catalog/resources/{household.pk}", {"summary": "经接口修订的摘要"},
                            content_type="application/json", **_bearer(city, "officer", ("read", "write")))
    assert response.status_code == 200 and response.json()["summary"] == "经接口修订的摘要"
    assert Resource.objects.get(pk=household.pk).summary != "经接口修订的摘要"
    assert working(household)[0]["summary"] == "经接口修订的摘要"


def test_a_published_entry_with_nothing_changed_has_nothing_to_submit_C2(city, household):
    with pytest.raises(Conflict) as refused:
        submit_resource(city.actor("officer"), household)
    assert refused.value.code == "no_changes"


def test_a_new_entry_is_its_own_working_copy_until_first_published_C2(city):
    """An entry never published is nobody else's to rely on: its live rows follow the draft."""
    officer = city.actor("officer")
    resource = draft_resource(officer, fields=entry_fields(), items=entry_items())
    update_draft(officer, resource, fields={"name": "新编目录改名"})
    resource.refresh_from_db()
    assert resource.name == "新编目录改名" and resource.status == Resource.Status.DRAFT
    assert resource.pk not in set(selectors.restrict(city.actor("cdo_civil_affairs")).values_list("pk", flat=True))
    assert not ShareRequest.objects.filter(resource=resource).exists()
