"""Writes of the core app: organisations, memberships, tokens, the calendar, notifications."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import hashlib
import hmac
import secrets

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone

from audit.services import record, service

from foundation import permissions
from foundation.actor import Actor
from foundation.errors import NotAuthenticated, PermissionDenied, ValidationFailed
from .models import ApiToken, CalendarDay, Membership, Notification, Organisation, Region, User


def full_clean_or_refuse(instance, exclude=None) -> None:
    """Model validation, turned into our ValidationFailed with every field's messages."""
    try:
        instance.full_clean(exclude=exclude)
    except DjangoValidationError as exc:
        errors = {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
        field, messages = next(iter(errors.items()))
        raise ValidationFailed(messages[0], field=None if field == "__all__" else field, errors=errors) from None


# --- regions and organisations ---------------------------------------------------------------


@service
def create_region(actor: Actor, *, code: str, name: str, level: str, parent: Region | None = None) -> Region:
    if parent is not None:
        permissions.require(actor, "core.create_region", region=parent)
    elif not actor.is_system:
        raise PermissionDenied("只有平台可以创建市级区域")
    region = Region(code=code, name=name, level=level, parent=parent)
    full_clean_or_refuse(region, exclude=["path"])
    region.save()
    record(actor, "core.create_region", region, after={"code": code, "name": name, "level": level})
    return region


@service
def create_organisation(
    actor: Actor, *, name: str, kind: str, region: Region, uscc: str | None, sector: str = "", short_name: str = ""
) -> Organisation:
    permissions.require(actor, "core.create_organisation", region=region)
    org = Organisation(name=name, kind=kind, region=region, uscc=(uscc or "").strip().upper() or None, sector=sector, short_name=short_name)
    full_clean_or_refuse(org)
    org.save()
    record(actor, "core.create_organisation", org, after={"name": name, "kind": kind, "uscc": org.uscc, "region": region.code})
    return org


@service
def create_user(
    actor: Actor, *, username: str, password: str, display_name: str = "", citizen_id: str | None = None, email: str = ""
) -> User:
    if not actor.is_system:
        permissions.require(actor, "core.create_user")
    user = User(username=username, display_name=display_name, citizen_id=(citizen_id or "").strip().upper() or None, email=email)
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed("；".join(exc.messages), field="password") from None
    user.set_password(password)
    full_clean_or_refuse(user)
    user.save()
    record(actor, "core.create_user", user, after={"username": username})
    return user


@service
def add_membership(actor: Actor, *, user: User, organisation: Organisation, role: str) -> Membership:
    permissions.require(actor, "core.add_membership", organisation=organisation)
    membership = Membership(user=user, organisation=organisation, role=role)
    full_clean_or_refuse(membership)
    membership.save()
    record(actor, "core.add_membership", membership, after={"user": user.username, "organisation": organisation.name, "role": role})
    return membership


# --- API tokens (P3) -------------------------------------------------------------------------

TOKEN_PREFIX = "gs"


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@service
def issue_token(actor: Actor, *, name: str, scopes: list[str], days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for the acting user and organisation. The plain token is returned once, never stored."""
    permissions.require(actor, "core.issue_token", organisation=actor.organisation)
    days = settings.GONGSHU_TOKEN_DEFAULT_DAYS if days is None else days
    if not 1 <= days <= settings.GONGSHU_TOKEN_MAX_DAYS:
        raise ValidationFailed(f"有效期须在 1 到 {settings.GONGSHU_TOKEN_MAX_DAYS} 天之间", field="days")
    unknown = set(scopes) - set(ApiToken.Scope.values)
    if not scopes or unknown:
        raise ValidationFailed("权限范围须为 read 或 write", field="scopes")
    if not name.strip():
        raise ValidationFailed("请填写令牌名称", field="name")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=actor.user,
        organisation=actor.organisation,
        name=name.strip(),
        prefix=prefix,
        secret_hash=_token_hash(secret),
        scopes=sorted(set(scopes)),
        expires_at=timezone.now() + dt.timedelta(days=days),
    )
    record(actor, "core.issue_token", token, after={"name": token.name, "scopes": token.scopes, "expires_at": token.expires_at})
    return token, f"{TOKEN_PREFIX}_{prefix}_{secret}"


@service
def revoke_token(actor: Actor, *, token: ApiToken) -> ApiToken:
    if actor.user is None or token.user_id != actor.user.pk:
        permissions.require(actor, "core.revoke_token", organisation=token.organisation)
    if token.revoked_at:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at", "updated_at"])
    record(actor, "core.revoke_token", token, after={"revoked_at": token.revoked_at})
    return token


def authenticate_token(raw: str) -> ApiToken:
    """The usable token for ``raw``, or NotAuthenticated saying why (unknown, expired, revoked)."""
    parts = (raw or "").split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise NotAuthenticated("令牌格式不正确", code="token_invalid")
    token = ApiToken.objects.select_related("user", "organisation__region").filter(prefix=parts[1]).first()
    if token is None or not hmac.compare_digest(token.secret_hash, _token_hash(parts[2])):
        raise NotAuthenticated("令牌无效", code="token_invalid")
    if token.revoked_at is not None:
        raise NotAuthenticated("令牌已吊销", code="token_revoked")
    if token.expires_at <= timezone.now():
        raise NotAuthenticated("令牌已过期", code="token_expired")
    if not token.user.is_active:
        raise NotAuthenticated("用户已停用", code="user_inactive")
    return token


# --- calendar --------------------------------------------------------------------------------


@service
def set_calendar_day(actor: Actor, *, date: dt.date, is_workday: bool, name: str = "") -> CalendarDay:
    """The bureau records a holiday or make-up workday (years the package does not know yet)."""
    permissions.require(actor, "core.set_calendar_day")
    before = CalendarDay.objects.filter(date=date).first()
    day, _ = CalendarDay.objects.update_or_create(
        date=date, defaults={"is_workday": is_workday, "name": name, "source": CalendarDay.Source.BUREAU}
    )
    record(
        actor,
        "core.set_calendar_day",
        day,
        before={"is_workday": before.is_workday, "name": before.name} if before else None,
        after={"is_workday": is_workday, "name": name},
    )
    return day


# --- notifications ---------------------------------------------------------------------------


def notify(
    *,
    organisation: Organisation | None = None,
    organisation_id: int | None = None,
    user: User | None = None,
    kind: str,
    message: str,
    link: str = "",
) -> Notification:
    """Called from inside other services' transactions; the service's own audit event covers it."""
    note = Notification.objects.create(
        organisation_id=organisation.pk if organisation else organisation_id,
        user=user,
        kind=kind,
        message=message[:500],
        link=link,
    )
    collecting = _collecting.get()
    if collecting is not None:
        collecting.append(note)
    return note


_collecting: contextvars.ContextVar[list | None] = contextvars.ContextVar("notices_sent", default=None)


@contextlib.contextmanager
def collect_notices():
    """The notifications sent inside the block, as a list (the case engine asks whether a state's hook told
    the applicant itself before it sends the applicant's notice)."""
    sent: list[Notification] = []
    token = _collecting.set(sent)
    try:
        yield sent
    finally:
        _collecting.reset(token)


# --- two-factor devices (P3) -----------------------------------------------------------------


@service
def enrol_totp_device(actor: Actor):
    """The acting user's TOTP device being enrolled: the unconfirmed one, or a new one (audited; its secret
    never goes into the audit trail). A user whose device is confirmed already enrols no second one."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from foundation.errors import Conflict

    if actor.user is None:
        raise NotAuthenticated("请先登录", code="not_authenticated")
    if TOTPDevice.objects.filter(user=actor.user, confirmed=True).exists():
        raise Conflict("已绑定动态验证码设备", code="totp_already_enrolled")
    device = TOTPDevice.objects.filter(user=actor.user, confirmed=False).first()
    if device is not None:
        return device
    device = TOTPDevice.objects.create(user=actor.user, name="default", confirmed=False)
    record(actor, "core.enrol_totp_device", device, after={"name": device.name, "confirmed": False})
    return device


@service
def confirm_totp_device(actor: Actor, *, device, code: str) -> bool:
    """Confirm the acting user's enrolled device with a code from it: True once confirmed (audited); a wrong
    or expired code confirms nothing and returns False. It is not a refusal raised: django-otp's throttle
    counts the failure on the device, and a rollback would forget it (each failure delays the next try)."""
    from foundation.errors import Conflict

    if actor.user is None or device.user_id != actor.user.pk:
        raise PermissionDenied("只能确认本人的动态验证码设备", code="forbidden")
    if device.confirmed:
        raise Conflict("该动态验证码设备已确认", code="totp_already_confirmed")
    if not device.verify_token(code):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    record(actor, "core.confirm_totp_device", device, after={"name": device.name, "confirmed": True})
    return True


@service
def mark_notifications_read(actor: Actor, *, ids: list[int] | None = None) -> int:
    """The acting organisation's unread notifications (all, or those of ``ids``) marked read: the badge
    counts what is left. Another organisation's notifications are not touched."""
    if actor.organisation is None:
        raise NotAuthenticated("请先选择所在单位", code="no_membership")
    unread = Notification.objects.filter(organisation=actor.organisation, read_at=None)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    marked = list(unread.values_list("pk", flat=True))
    if marked:
        Notification.objects.filter(pk__in=marked).update(read_at=timezone.now())
        record(actor, "core.mark_notifications_read", actor.organisation, after={"notifications": marked})
    return len(marked)
