"""The rulebook: every deadline and threshold the platform applies, each with its article.

Code asks ``rulebook.deadline("share.conditional.review")`` and never writes the number itself.
The file is chosen by ``settings.GONGSHU_RULEBOOK``: a name under ``gongshu/rulebooks/`` or a path.

``load(name)`` reads a rulebook without Django (the settings read the account rules of P3 with it, before
Django is configured); ``current()`` is the configured one, checked also by the apps that read a rule
(``register_check``: the catalog, that its required fields are fields of an entry).

CFG1: each rule says where its value comes from (``origin``: the regulation's text, or a platform default
where the regulation sets no number), and the rulebook records its regulation's issuer, dates and validity;
``validity(today)`` tells whether the regulation is in force, about to expire or expired.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import yaml
from django.conf import settings

from .errors import GongshuError

RULEBOOK_DIR = Path(__file__).resolve().parent.parent / "gongshu" / "rulebooks"
UNITS = {"wd", "hours", "days", "months", "years", "minutes", "count", "ratio", "percent", "roles", "fields"}
NAME_UNITS = {"roles", "fields"}  # a list of names: P2 role names (checked here), or field names (checked by the app)
CLOCKS = ("wd", "hours")  # the units a case deadline may be given in: working days, or wall-clock hours
# CFG1: where a rule's value comes from. "regulation": the number is in the text of the cited article;
# "platform_default": the regulation sets no number, the platform chose it (each city may set its own).
ORIGINS = {"regulation": "法规规定", "platform_default": "平台默认"}
DATE_FIELDS = ("adopted", "issued", "effective", "expires")  # expires: the last day the regulation is in force
EXPIRY_WARNING_RULE = "rulebook.expiry_warning_days"


class RulebookError(GongshuError):
    code = "rulebook"
    status = 500


@dataclass(frozen=True)
class Rule:
    key: str
    value: int | float | str | tuple[str, ...]  # a tuple for the NAME_UNITS
    unit: str
    article: str
    text: str
    origin: str  # CFG1: one of ORIGINS, required in the file (checked at load)

    @property
    def citation(self) -> str:
        return self.article

    @property
    def origin_label(self) -> str:
        return ORIGINS[self.origin]


@dataclass(frozen=True)
class TimeLimit:
    """How long a step may take: ``amount`` working days (unit "wd") or wall-clock hours (unit "hours")."""

    amount: int
    unit: str

    @property
    def in_hours(self) -> bool:
        return self.unit == "hours"


@dataclass(frozen=True)
class SourceDesignation:
    key: str
    label: str
    article: str
    sectors: tuple[str, ...]


@dataclass(frozen=True)
class Rulebook:
    name: str
    title: str
    rules: dict[str, Rule]
    sources: dict[str, SourceDesignation]
    sources_article: str
    grading: dict  # the default classification and grading scheme (seeded into the database)
    bases: dict  # base databases (A5): key and fields, each from a basic data type's item
    backflow: dict = None  # A7: which item columns carry the administrative division a record concerns
    # CFG1: the regulation behind the rulebook: issuer, dates (DATE_FIELDS) and the article on its validity
    issuer: str = ""
    adopted: dt.date | None = None
    issued: dt.date | None = None
    effective: dt.date | None = None
    expires: dt.date | None = None
    validity_article: str = ""

    def validity(self, today: dt.date) -> Validity:
        """CFG1: whether the regulation is in force on ``today``: "not_yet" (before it takes effect),
        "in_force", "expiring" (expires within rule rulebook.expiry_warning_days, a platform default) or
        "expired". A rulebook that records no expiry is in force once effective."""
        window = int(self.rules[EXPIRY_WARNING_RULE].value) if EXPIRY_WARNING_RULE in self.rules else 0
        days_left = (self.expires - today).days if self.expires else None
        if self.effective and today < self.effective:
            state, message = "not_yet", f"《{self.title}》自 {self.effective} 起施行，尚未生效"
        elif days_left is None:
            state, message = "in_force", f"《{self.title}》未记录有效期"
        elif days_left < 0:
            state, message = "expired", f"《{self.title}》已于 {self.expires} 有效期届满（{self.validity_article}），规则库须按新规定更新"
        elif days_left < window:
            state, message = "expiring", f"《{self.title}》有效期至 {self.expires}，距届满还有 {days_left} 天（{self.validity_article}），请及时更新规则库"
        else:
            state, message = "in_force", f"《{self.title}》有效期至 {self.expires}"
        return Validity(state, self.expires, days_left, window, message)

    def rule(self, key: str) -> Rule:
        try:
            return self.rules[key]
        except KeyError:
            raise RulebookError(f"规则库中没有规则 {key}", code="unknown_rule") from None

    def value(self, key: str):
        return self.rule(key).value

    def deadline(self, key: str) -> int:
        """A deadline in working days."""
        rule = self.rule(key)
        if rule.unit != "wd":
            raise RulebookError(f"规则 {key} 的单位是 {rule.unit}，不是工作日", code="rule_unit")
        return int(rule.value)

    def time_limit(self, key: str) -> TimeLimit:
        """A case deadline: working days ("wd") or wall-clock hours ("hours"), as the rule's unit says."""
        rule = self.rule(key)
        if rule.unit not in CLOCKS:
            raise RulebookError(f"规则 {key} 的单位是 {rule.unit}，办理期限须以工作日或小时计", code="rule_unit")
        return TimeLimit(int(rule.value), rule.unit)

    def names(self, key: str) -> tuple[str, ...]:
        """A list of names (unit "roles" or "fields")."""
        rule = self.rule(key)
        if rule.unit not in NAME_UNITS:
            raise RulebookError(f"规则 {key} 的单位是 {rule.unit}，不是名称列表", code="rule_unit")
        return rule.value


@dataclass(frozen=True)
class Validity:
    """CFG1: the state of the rulebook's regulation on a day, and the message administrators are shown."""

    state: str  # not_yet / in_force / expiring / expired
    expires: dt.date | None
    days_left: int | None  # days from today to the last day in force (0: today is the last day)
    window: int  # rulebook.expiry_warning_days
    message: str

    @property
    def warning(self) -> bool:
        return self.state != "in_force"


def _date(field: str, value) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime) or not isinstance(value, (dt.date, str)):
        raise RulebookError(f"规则库的 {field} 须为日期（YYYY-MM-DD）", code="rulebook_invalid")
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise RulebookError(f"规则库的 {field} 须为日期（YYYY-MM-DD），不是 {value}", code="rulebook_invalid") from None
    return value


def _dates(data: dict) -> dict[str, dt.date | None]:
    """The regulation's dates, refused at load unless each is a date and they come in order."""
    dates = {field: _date(field, data.get(field)) for field in DATE_FIELDS}
    given = [(field, dates[field]) for field in DATE_FIELDS if dates[field] is not None]
    for (first, a), (then, b) in zip(given, given[1:]):
        if b < a:
            raise RulebookError(f"规则库的 {then}（{b}）早于 {first}（{a}）", code="rulebook_invalid")
    return dates


def _names(key: str, unit: str, value) -> tuple[str, ...]:
    """A rule's list of names, refused at load unless every one is a string (and, for roles, a P2 role)."""
    if not isinstance(value, list) or not all(isinstance(name, str) and name for name in value):
        raise RulebookError(f"规则 {key} 的取值须为名称列表", code="rulebook_invalid")
    if unit == "roles":
        from .roles import Role  # here, not at the top: only a rulebook with a role list needs Django's models

        unknown = [name for name in value if name not in Role.values]
        if unknown:
            raise RulebookError(f"规则 {key} 含未知角色 {', '.join(unknown)}", code="rulebook_invalid")
    return tuple(value)


def _load(path: Path) -> Rulebook:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rules = {}
    for key, spec in (data.get("rules") or {}).items():
        missing = {"value", "unit", "article", "origin"} - set(spec)
        if missing:
            raise RulebookError(f"规则 {key} 缺少 {', '.join(sorted(missing))}", code="rulebook_invalid")
        if spec["unit"] not in UNITS:
            raise RulebookError(f"规则 {key} 的单位 {spec['unit']} 无效", code="rulebook_invalid")
        if spec["origin"] not in ORIGINS:
            raise RulebookError(f"规则 {key} 的来源 {spec['origin']} 无效，须为 {' 或 '.join(ORIGINS)}", code="rulebook_invalid")
        value = _names(key, spec["unit"], spec["value"]) if spec["unit"] in NAME_UNITS else spec["value"]
        rules[key] = Rule(key, value, spec["unit"], spec["article"], spec.get("text", ""), spec["origin"])
    src = data.get("sources") or {}
    sources = {
        key: SourceDesignation(key, spec["label"], spec.get("article", src.get("article", "")), tuple(spec["sectors"]))
        for key, spec in (src.get("designations") or {}).items()
    }
    return Rulebook(data["name"], data.get("title", data["name"]), rules, sources, src.get("article", ""), data.get("grading") or {},
                    data.get("bases") or {}, data.get("backflow") or {}, issuer=data.get("issuer", ""),
                    validity_article=data.get("validity", ""), **_dates(data))


def _path(name: str) -> Path:
    candidate = Path(name)
    if candidate.suffix in {".yaml", ".yml"}:
        return candidate
    return RULEBOOK_DIR / f"{name}.yaml"


@lru_cache(maxsize=4)
def _cached(path: str) -> Rulebook:
    return _load(Path(path))


def load(name: str) -> Rulebook:
    """The rulebook ``name`` (a name under ``gongshu/rulebooks/`` or a path), read without Django: every rule
    has its value, unit and article, and role names are P2 roles. The apps' own checks are current()'s."""
    return _cached(str(_path(name)))


_CHECKS: dict[str, Callable[[Rule], None]] = {}


def register_check(key: str, check: Callable[[Rule], None]) -> None:
    """An app that reads rule ``key`` checks its value (raising RulebookError): current() does not return a
    rulebook whose rule fails it."""
    _CHECKS[key] = check
    _checked.cache_clear()


@lru_cache(maxsize=4)
def _checked(name) -> Rulebook:
    """Keyed by the setting's value as it is (a name or a path), not by its resolved path: current() is on the
    hot path of every data call."""
    book = _cached(str(_path(str(name))))
    for key, check in _CHECKS.items():
        if key in book.rules:
            check(book.rules[key])
    return book


def current() -> Rulebook:
    return _checked(settings.GONGSHU_RULEBOOK)


def rule(key: str) -> Rule:
    return current().rule(key)


def value(key: str):
    return current().value(key)


def deadline(key: str) -> int:
    return current().deadline(key)


def time_limit(key: str) -> TimeLimit:
    return current().time_limit(key)


def names(key: str) -> tuple[str, ...]:
    return current().names(key)


def validity(today: dt.date | None = None) -> Validity:
    """CFG1: the configured rulebook's regulation on ``today`` (default: today in the city's time zone)."""
    if today is None:
        from django.utils import timezone

        today = timezone.localtime(timezone.now(), timezone.get_default_timezone()).date()
    return current().validity(today)
