"""P3, SEC1: enrolling and confirming a TOTP device goes through core's services and lands in the audit chain
under its declared action, never with the device's secret; a wrong code confirms nothing and is refused."""

import base64

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit import actions
from audit.models import Event
from core.services import confirm_totp_device, enrol_totp_device
from foundation.errors import Conflict, PermissionDenied
from gongshu.demo import PASSWORD

pytestmark = pytest.mark.django_db


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def _wrong(device: TOTPDevice) -> str:
    return "000000" if _code(device) != "000000" else "111111"


def _events_after(seq: int) -> list[Event]:
    return list(Event.objects.filter(seq__gt=seq).order_by("seq"))


def _last_seq() -> int:
    return Event.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def _secrets(device: TOTPDevice) -> list[str]:
    return [device.key, device.key.upper(), base64.b32encode(device.bin_key).decode(),
            base64.b32encode(device.bin_key).decode().rstrip("=")]


def _signed_in(client, username="officer"):
    assert client.post(reverse("login"), {"username": username, "password": PASSWORD}).status_code == 302
    return _last_seq()  # after the sign-in's own event


def test_enrolling_a_device_writes_one_audit_event_without_its_secret_P3_SEC1(client):
    assert not TOTPDevice.objects.filter(user__username="officer").exists()
    start = _signed_in(client)
    page = client.get(reverse("otp"))
    assert page.status_code == 200 and page.context["enrolling"]
    device = TOTPDevice.objects.get(user__username="officer")
    assert not device.confirmed and device.name == "default"
    assert page.context["secret"] in page.content.decode()  # the page shows it to the user, as before
    (event,) = _events_after(start)
    assert (event.action, event.outcome) == ("core.enrol_totp_device", "ok")
    assert actions.is_declared(event.action) and event.action_label == "绑定动态验证码设备"
    assert (event.object_type, event.object_id, event.actor_name) == ("otp_totp.totpdevice", str(device.pk), "officer")
    assert event.data == {"after": {"name": "default", "confirmed": False}}
    assert not [s for s in _secrets(device) if s in event.summary]

    again = client.get(reverse("otp"))  # the same pending device is shown again: nothing new written
    assert again.context["secret"] == page.context["secret"]
    assert TOTPDevice.objects.filter(user__username="officer").count() == 1 and len(_events_after(start)) == 1


def test_a_wrong_code_confirms_nothing_and_is_refused_as_before_then_the_right_one_confirms_P3_SEC1(client):
    _signed_in(client)
    client.get(reverse("otp"))
    device = TOTPDevice.objects.get(user__username="officer")
    start = _last_seq()

    bad = client.post(reverse("otp"), {"code": _wrong(device)})
    assert bad.status_code == 200 and "验证码不正确或已过期" in bad.content.decode() and bad.context["enrolling"]
    device.refresh_from_db()
    assert not device.confirmed and device.throttling_failure_count == 1  # django-otp's throttle kept the failure
    assert _events_after(start) == []
    assert not client.session.get("otp_device_id")

    device.throttle_reset()  # a failure throttles the next try (django-otp); a person waits, the test resets
    good = client.post(reverse("otp"), {"code": _code(device), "next": reverse("home")})
    assert good.status_code == 302 and good["Location"] == reverse("home")
    device.refresh_from_db()
    assert device.confirmed and client.session.get("otp_device_id")
    (event,) = _events_after(start)
    assert (event.action, event.outcome, event.object_id) == ("core.confirm_totp_device", "ok", str(device.pk))
    assert actions.is_declared(event.action) and event.data == {"after": {"name": "default", "confirmed": True}}
    assert not [s for s in _secrets(device) if s in event.summary]

    # confirmed now: the next session verifies a code, enrolling nothing and writing no audit event of ours
    page = client.get(reverse("otp"))
    assert not page.context["enrolling"] and "secret" not in page.context
    assert TOTPDevice.objects.filter(user__username="officer").count() == 1


def test_the_services_refuse_another_users_device_and_a_second_enrolment_P3_SEC1(city):
    officer, bureau = city.actor("officer"), city.actor("bureau")
    device = enrol_totp_device(officer)
    start = _last_seq()
    with pytest.raises(PermissionDenied):
        confirm_totp_device(bureau, device=device, code=_code(device))
    device.refresh_from_db()
    assert not device.confirmed
    (refusal,) = _events_after(start)
    assert (refusal.action, refusal.outcome) == ("core.confirm_totp_device", "refused")
    assert not [s for s in _secrets(device) if s in refusal.summary]

    assert confirm_totp_device(officer, device=device, code=_wrong(device)) is False
    device.refresh_from_db()
    assert not device.confirmed and len(_events_after(start)) == 1

    device.throttle_reset()
    assert confirm_totp_device(officer, device=device, code=_code(device)) is True
    with pytest.raises(Conflict):
        enrol_totp_device(officer)
    assert TOTPDevice.objects.filter(user=officer.user).count() == 1
