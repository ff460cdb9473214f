"""The rulebook: every deadline and threshold the platform applies, each with its article.

Code asks ``rulebook.deadline("share.conditional.review")`` and never writes the number itself.
The file is chosen by ``settings.GONGSHU_RULEBOOK``: a name under ``gongshu/rulebooks/`` or a path.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from django.conf import settings

from .errors import GongshuError

RULEBOOK_DIR = Path(__file__).resolve().parent.parent / "gongshu" / "rulebooks"
UNITS = {"wd", "hours", "days", "months", "years", "minutes", "count", "ratio", "percent"}
CLOCKS = ("wd", "hours")  # the units a case deadline may be given in: working days, or wall-clock hours


class RulebookError(GongshuError):
    code = "rulebook"
    status = 500


@dataclass(frozen=True)
class Rule:
    key: str
    value: int | float | str
    unit: str
    article: str
    text: str

    @property
    def citation(self) -> str:
        return self.article


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


def _load(path: Path) -> Rulebook:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rules = {}
    for key, spec in (data.get("rules") or {}).items():
        missing = {"value", "unit", "article"} - set(spec)
        if missing:
            raise RulebookError(f"规则 {key} 缺少 {', '.join(sorted(missing))}", code="rulebook_invalid")
        if spec["unit"] not in UNITS:
            raise RulebookError(f"规则 {key} 的单位 {spec['unit']} 无效", code="rulebook_invalid")
        rules[key] = Rule(key, spec["value"], spec["unit"], spec["article"], spec.get("text", ""))
    src = data.get("sources") or {}
    sources = {
        key: SourceDesignation(key, spec["label"], spec.get("article", src.get("article", "")), tuple(spec["sectors"]))
        for key, spec in (src.get("designations") or {}).items()
    }
    return Rulebook(data["name"], data.get("title", data["name"]), rules, sources, src.get("article", ""), data.get("grading") or {},
                    data.get("bases") or {}, data.get("backflow") or {})


def _path(name: str) -> Path:
    candidate = Path(name)
    if candidate.suffix in {".yaml", ".yml"}:
        return candidate
    return RULEBOOK_DIR / f"{name}.yaml"


@lru_cache(maxsize=4)
def _cached(path: str) -> Rulebook:
    return _load(Path(path))


def current() -> Rulebook:
    return _cached(str(_path(settings.GONGSHU_RULEBOOK)))


def rule(key: str) -> Rule:
    return current().rule(key)


def value(key: str):
    return current().value(key)


def deadline(key: str) -> int:
    return current().deadline(key)


def time_limit(key: str) -> TimeLimit:
    return current().time_limit(key)
