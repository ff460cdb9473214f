"""A draft waits for whoever submits it (issue 14 item 4): staff who draft see who submits, and the
provider is told a draft is waiting (once while the notice is unread)."""

import pytest

from catalog.services import DRAFT_WAITING, draft_resource, update_draft
from catalog.tests.factories import entry_fields, entry_items
from core.models import Notification

pytestmark = pytest.mark.django_db


def test_a_draft_by_staff_tells_the_provider_who_submits_it_C2(city, sign_in):
    draft = draft_resource(city.actor("staff"), fields=entry_fields(), items=entry_items())
    (notice,) = Notification.objects.filter(organisation=city.police, kind=DRAFT_WAITING)
    officer = city.user("officer")
    assert notice.link == f"/catalog/{draft.pk}/" and (officer.display_name or officer.username) in notice.message
    assert "刘干事" in notice.message and draft.name in notice.message
    update_draft(city.actor("staff"), draft, fields={"summary": "补充摘要"})
    assert Notification.objects.filter(organisation=city.police, kind=DRAFT_WAITING).count() == 1  # not again while unread

    page = sign_in("staff").get(f"/catalog/{draft.pk}/").content.decode()
    assert 'id="submitted-by"' in page and (officer.display_name or officer.username) in page
    assert 'id="submitted-by"' not in sign_in("officer").get(f"/catalog/{draft.pk}/").content.decode()  # they submit


def test_a_draft_by_the_data_officer_tells_nobody_C2(city):
    draft_resource(city.actor("officer"), fields=entry_fields(name="首席自拟目录"), items=entry_items())
    assert not Notification.objects.filter(kind=DRAFT_WAITING).exists()
