"""Misuse rules (S7, SYS Art. 31, 33), declared once and applied to every kind of entitlement: use after
the end, repeated calls outside its terms, no call for months, unusual volume against the recent baseline,
calls at night. Each kind names the rulebook prefix of its thresholds (sharing: ``share``) and what it does
with a finding (sharing opens a rectification); the windows are rules too, not literals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import models
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.workdays import add_months
from foundation import rulebook

from .models import Entitlement


class Reason(models.TextChoices):
    IDLE = "idle", _("长期未调用")
    VOLUME = "volume", _("调用量异常")
    NIGHT = "night", _("夜间调用异常")
    EXPIRED = "expired", _("到期后仍在调用")
    REFUSED = "refused", _("超范围、超用途调用")


@dataclass(frozen=True)
class Finding:
    reason: str
    detail: str


@dataclass(frozen=True)
class Thresholds:
    """A kind's thresholds, read from the rulebook under its prefix (``share.idle_months``...)."""

    window_hours: int
    baseline_days: int
    refusal_codes: frozenset[str]
    refused_calls: int
    idle_months: int
    unusual_ratio: float
    unusual_min_calls: int
    night_calls: int
    night_end_hour: int

    @classmethod
    def of(cls, prefix: str) -> Thresholds:
        def value(name):
            return rulebook.value(f"{prefix}.{name}")

        return cls(window_hours=int(value("misuse_window_hours")), baseline_days=int(value("misuse_baseline_days")),
                   refusal_codes=frozenset(value("misuse_refusal_codes")), refused_calls=int(value("refused_calls")),
                   idle_months=int(value("idle_months")), unusual_ratio=float(value("unusual_daily_calls")),
                   unusual_min_calls=int(value("unusual_min_calls")), night_calls=int(value("night_calls")),
                   night_end_hour=int(value("night_end_hour")))


Rule = Callable[[Entitlement, "object", Thresholds, dt.datetime], "Finding | None"]


def _after_end(entitlement, calls, t, now):
    if entitlement.refusals.filter(at__gte=now - dt.timedelta(hours=t.window_hours), code="grant_expired").exists():
        return Finding(Reason.EXPIRED, f"授权已于 {entitlement.valid_until} 到期，仍有调用")
    return None


def _refused(entitlement, calls, t, now):
    refused = entitlement.refusals.filter(at__gte=now - dt.timedelta(hours=t.window_hours), code__in=t.refusal_codes).count()
    if refused >= t.refused_calls:
        return Finding(Reason.REFUSED, f"近{t.window_hours}小时超出授权范围或用途的调用被拒 {refused} 次")
    return None


def _idle(entitlement, calls, t, now):
    last = calls.aggregate(last=Max("at"))["last"] or entitlement.created_at
    if last < now - dt.timedelta(hours=t.window_hours) and \
            timezone.localdate(last) <= add_months(timezone.localdate(now), -t.idle_months):
        return Finding(Reason.IDLE, f"自 {timezone.localdate(last)} 起 {t.idle_months} 个月未调用")
    return None


def _volume(entitlement, calls, t, now):
    window_start = now - dt.timedelta(hours=t.window_hours)
    recent = calls.filter(at__gte=window_start).count()
    baseline = calls.filter(at__gte=window_start - dt.timedelta(days=t.baseline_days), at__lt=window_start).count() / t.baseline_days
    if recent >= t.unusual_min_calls and recent > t.unusual_ratio * baseline:
        return Finding(Reason.VOLUME, f"近{t.window_hours}小时调用 {recent} 次，超过此前{t.baseline_days}日日均"
                                      f"（{baseline:.0f} 次）的 {t.unusual_ratio:g} 倍")
    return None


def _night(entitlement, calls, t, now):
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    night = calls.filter(at__gte=start, at__lt=start + dt.timedelta(hours=t.night_end_hour)).count()
    if night > t.night_calls:
        return Finding(Reason.NIGHT, f"今日夜间调用 {night} 次")
    return None


# (rule, whether it looks at an entitlement no longer in force): the first finding counts
RULES: tuple[tuple[Rule, bool], ...] = ((_after_end, True), (_refused, False), (_idle, False), (_volume, False), (_night, False))


def finding(entitlement: Entitlement, thresholds: Thresholds, now: dt.datetime) -> Finding | None:
    """Why this entitlement needs rectifying now, if it does (the first rule that finds something). Its calls
    are the usage log (kept up to date from the chain by ``warehouse.usage.catch_up``), its refused calls
    the access path's count; an entitlement no longer in force is looked at for use after its end only."""
    from warehouse.models import UsageLog

    calls = UsageLog.objects.filter(grant_ref=entitlement.ref)
    active = entitlement.status == Entitlement.Status.ACTIVE
    for rule, on_closed in RULES:
        if active or on_closed:
            found = rule(entitlement, calls, thresholds, now)
            if found:
                return found
    return None


def review(now: dt.datetime | None = None) -> int:
    """Scheduled (S7): every watched entitlement of every kind is looked at; each finding goes to its kind
    (sharing opens a rectification with a deadline). The number of findings."""
    from .calls import kinds

    now = now or timezone.now()
    found = 0
    for kind in kinds():
        if not kind.misuse:
            continue
        thresholds = Thresholds.of(kind.misuse)  # once per kind and review, not per entitlement
        for entitlement in kind.watched():
            result = finding(entitlement, thresholds, now)
            if result:
                kind.on_misuse(entitlement, result)
                found += 1
    return found
