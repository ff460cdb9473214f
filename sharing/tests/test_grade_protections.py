"""Grade protections on sharing (G1, S3, S4): ``grant_with_approval`` needs the provider's own approval even in
an unconditional entry, core data is never granted, and a grade's ``export`` rule decides what a file
delivery or a database sync may carry."""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from audit.models import Event
from catalog.models import Resource
from catalog.services import _item_dicts, submit_resource, update_draft
from foundation.errors import Conflict, PermissionDenied, ValidationFailed
from core.models import Notification
from core.services import issue_token
from grading.models import Grade
from sharing import services
from sharing.models import Grant, ShareRequest
from workflow.models import Case
from workflow.services import transition

pytestmark = pytest.mark.django_db
PROVIDER = "cdo_market_regulation"  # the market regulator provides 市场主体登记信息 (unconditional, api/file/db_sync)


@pytest.fixture
def entities():
    return Resource.objects.get(name="市场主体登记信息")


@pytest.fixture
def insurance():
    return Resource.objects.get(name="社会保险参保信息")  # conditional, api/file


def _regrade(city, resource, officer, **grades):
    """A reviewed re-grade of a published entry (G2): the working copy, submitted, published by the bureau."""
    items = _item_dicts(resource.items.all())
    for item in items:
        item["grade"] = grades.get(item["column"], item["grade"])
    update_draft(city.actor(officer), resource, items=items, fields={"change_reason": "内容变化，重新分级"})
    transition(city.actor("bureau"), submit_resource(city.actor(officer), resource), "publish")
    resource.refresh_from_db()


def _ask(city, resource, *, items, method="api", username="cdo_health"):
    return services.request_share(city.actor(username), resource, scenario="医疗机构资质核验", basis="《医疗机构管理条例》",
                                  method=method, items=items, valid_until=timezone.localdate() + dt.timedelta(days=30))


def _state(request):
    return Case.objects.get(pk=request.case_id).state


def _delivery(client, city, grant, username="cdo_health"):
    token = issue_token(city.actor(username), name="交付", scopes=["read"])[1]
    return client.get(f"/api/v1/share/{grant.ref}/delivery", {"purpose": grant.purpose}, HTTP_AUTHORIZATION=f"Bearer {token}")


def _header(response) -> list[str]:
    return next(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


# --- grant_with_approval ------------------------------------------------------------------------------


def test_important_data_in_an_unconditional_entry_is_not_granted_on_the_bureaus_approval_alone_G1_S3(city, entities):
    _regrade(city, entities, PROVIDER, legal_representative="important")  # 重要数据: 凭授权并经提供方审批
    request = _ask(city, entities, items=["uscc", "legal_representative"])
    case = request.case
    assert case.state == "provider_approval" and case.assignee.name == "双鸭山市市场监督管理局"
    assert case.deadline_rule == "share.provider_approval"
    with pytest.raises(Conflict):
        transition(city.actor("bureau"), case, "approve")  # the bureau alone cannot grant it
    assert not Grant.objects.filter(request=request).exists()

    transition(city.actor(PROVIDER), case, "endorse")
    assert _state(request) == "bureau_review"  # then the bureau reviews, as for any unconditional entry (SYS Art. 27(1))
    assert not Grant.objects.filter(request=request).exists()
    transition(city.actor("bureau"), case, "approve")
    grant = Grant.objects.get(request=request)
    assert grant.items == ["uscc", "legal_representative"] and grant.in_force()
    assert [s.transition for s in case.steps.order_by("at", "pk")] == ["open", "endorse", "approve"]


def test_the_provider_may_decline_important_data_with_its_reasons_G1_S3(city, entities):
    _regrade(city, entities, PROVIDER, legal_representative="important")
    request = _ask(city, entities, items=["legal_representative"])
    with pytest.raises(ValidationFailed):
        transition(city.actor(PROVIDER), request.case, "decline")  # a refusal states its reasons
    transition(city.actor(PROVIDER), request.case, "decline", comment="法定代表人信息不属于该场景所需")
    assert _state(request) == "refused" and not Grant.objects.filter(request=request).exists()


def test_an_unconditional_request_without_important_data_still_goes_to_the_bureau_alone_S3(city, entities):
    request = _ask(city, entities, items=["uscc", "entity_name"], method="file")  # all 一般数据（公开）: export allowed
    assert request.case.state == "bureau_review"
    transition(city.actor("bureau"), request.case, "approve")
    assert Grant.objects.filter(request=request).exists()


def test_a_request_regraded_to_important_while_waiting_goes_back_to_the_provider_G1(city, entities):
    request = _ask(city, entities, items=["uscc", "legal_representative"])
    assert request.case.state == "bureau_review"
    _regrade(city, entities, PROVIDER, legal_representative="important")
    events = Event.objects.filter(action="workflow.share_request.approve").count()
    with pytest.raises(Conflict) as refused:
        transition(city.actor("bureau"), request.case, "approve")
    assert refused.value.code == "provider_approval_required" and "legal_representative" in refused.value.message
    assert _state(request) == "bureau_review" and not Grant.objects.filter(request=request).exists()  # nothing changed
    assert Event.objects.filter(action="workflow.share_request.approve").count() == events
    transition(city.actor("bureau"), request.case, "to_provider")
    transition(city.actor(PROVIDER), request.case, "endorse")
    transition(city.actor("bureau"), request.case, "approve")
    assert Grant.objects.filter(request=request).exists()


def test_a_regrade_to_important_withdraws_the_item_from_grants_the_bureau_approved_alone_G1(city, entities):
    both = _ask(city, entities, items=["uscc", "legal_representative"])
    only = _ask(city, entities, items=["legal_representative"], username="cdo_human_resources")
    for request in (both, only):
        transition(city.actor("bureau"), request.case, "approve")
    _regrade(city, entities, PROVIDER, legal_representative="important")
    narrowed, ended = Grant.objects.get(request=both), Grant.objects.get(request=only)
    assert (narrowed.items, narrowed.status) == (["uscc"], "active")
    assert (ended.items, ended.status) == ([], "terminated") and "须经数据提供部门审批" in ended.status_reason
    assert Event.objects.filter(action="sharing.withhold_items", object_id=str(narrowed.pk)).exists()
    assert Notification.objects.filter(organisation=narrowed.holder, message__contains="请重新申请").exists()
    with pytest.raises(PermissionDenied) as refused:
        services.call(city.actor("cdo_health"), narrowed.ref, fields=["legal_representative"], purpose=narrowed.purpose,
                      filters={"uscc": "x"})
    assert refused.value.code == "over_scope"


def test_core_data_is_never_granted_through_sharing_G1(city, entities):
    pending = _ask(city, entities, items=["uscc", "legal_representative"])
    _regrade(city, entities, PROVIDER, legal_representative="core")  # 核心数据: 仅可在可信环境内使用
    with pytest.raises(ValidationFailed) as refused:
        _ask(city, entities, items=["legal_representative"], username="cdo_civil_affairs")
    assert "legal_representative" in refused.value.errors["items"][0]
    with pytest.raises(Conflict) as blocked:
        transition(city.actor("bureau"), pending.case, "approve")  # asked for before the re-grade
    assert blocked.value.code == "sandbox_only" and not Grant.objects.filter(request=pending).exists()


# --- export -------------------------------------------------------------------------------------------


def test_an_item_exported_only_with_approval_needs_the_provider_for_a_file_or_sync_G1_S4(client, city, entities):
    _regrade(city, entities, PROVIDER, entity_name="general_sensitive")  # 一般数据（敏感）: 经审批导出
    by_api = _ask(city, entities, items=["uscc", "entity_name"])
    assert by_api.case.state == "bureau_review"  # a lookup does not export: the bureau alone
    by_file = _ask(city, entities, items=["uscc", "entity_name"], method="file", username="cdo_human_resources")
    assert by_file.case.state == "provider_approval"
    transition(city.actor(PROVIDER), by_file.case, "endorse")
    transition(city.actor("bureau"), by_file.case, "approve")
    response = _delivery(client, city, Grant.objects.get(request=by_file), "cdo_human_resources")
    assert response.status_code == 200 and _header(response) == ["uscc", "entity_name"]  # export approved with the grant


def test_a_grant_approved_by_the_bureau_alone_does_not_export_items_later_graded_for_approval_G1_S4(client, city, entities):
    request = _ask(city, entities, items=["uscc", "entity_name"], method="db_sync")
    transition(city.actor("bureau"), request.case, "approve")
    grant = Grant.objects.get(request=request)
    assert _header(_delivery(client, city, grant)) == ["uscc", "entity_name"]
    _regrade(city, entities, PROVIDER, entity_name="general_sensitive")
    response = _delivery(client, city, grant)
    assert response.status_code == 200 and _header(response) == ["uscc"]  # the provider never approved its export
    lookup = services.call(city.actor("cdo_health"), grant.ref, purpose=grant.purpose, operation="sync")
    assert lookup.columns == ["uscc"]


def test_items_whose_grade_prohibits_export_never_leave_in_a_file_G1_S4(client, city, insurance):
    request = _ask(city, insurance, items=["citizen_id", "status"], method="file", username="cdo_civil_affairs")
    transition(city.actor("cdo_human_resources"), request.case, "agree")  # the provider's decision approves the export
    grant = Grant.objects.get(request=request)
    assert _header(_delivery(client, city, grant, "cdo_civil_affairs")) == ["citizen_id", "status"]

    Grade.objects.filter(code="general_internal").update(export=Grade.Export.PROHIBITED)  # the bureau tightens the scheme
    assert _header(_delivery(client, city, grant, "cdo_civil_affairs")) == ["citizen_id"]
    before = ShareRequest.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        _ask(city, insurance, items=["citizen_id", "status"], method="file", username="cdo_market_regulation")
    assert "status" in refused.value.errors["items"][0] and ShareRequest.objects.count() == before
    assert _ask(city, insurance, items=["citizen_id", "status"], username="cdo_market_regulation").method == "api"  # lookups stay possible

    Grade.objects.filter(code="general_sensitive").update(export=Grade.Export.PROHIBITED)
    response = _delivery(client, city, grant, "cdo_civil_affairs")
    assert response.status_code == 403 and response.json()["code"] == "export_prohibited"
    assert grant.refusals.filter(code="export_prohibited").exists()
