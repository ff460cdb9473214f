"""Notifications can be marked read and the badge clears (issue 14 item 3); each mark is audited, and
nobody marks another organisation's notifications."""

import pytest

from audit.models import Event
from core.models import Notification
from core.services import mark_notifications_read, notify

pytestmark = pytest.mark.django_db


def _badge(page: str) -> str:
    start = page.index('class="bell"')
    return page[start:page.index("</a>", start)]


def test_marking_one_then_all_read_clears_the_badge_SEC1(city, sign_in):
    for i in range(3):
        notify(organisation=city.police, kind="test", message=f"第{i}条通知", link="/catalog/")
    client = sign_in("officer")
    unread = Notification.objects.filter(organisation=city.police, read_at=None)
    count = unread.count()
    assert f"<b>{count}</b>" in _badge(client.get("/notifications/").content.decode())
    one = unread.first()
    assert client.post("/notifications/", {"notification": one.pk}).status_code == 302
    assert Notification.objects.get(pk=one.pk).read_at is not None and unread.count() == count - 1
    client.post("/notifications/")
    assert unread.count() == 0 and "<b>" not in _badge(client.get("/notifications/").content.decode())
    events = Event.objects.filter(action="core.mark_notifications_read", organisation_id=city.police.pk)
    assert events.count() == 2 and events.order_by("seq").first().data["after"]["notifications"] == [one.pk]


def test_another_organisation_s_notifications_are_not_touched_P2(city):
    theirs = notify(organisation=city.civil, kind="test", message="民政局的通知")
    assert mark_notifications_read(city.actor("officer"), ids=[theirs.pk]) == 0
    assert Notification.objects.get(pk=theirs.pk).read_at is None
