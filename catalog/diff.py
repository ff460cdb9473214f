"""Side-by-side comparison of two catalog versions (C2): fields and items that changed."""

from __future__ import annotations

from dataclasses import dataclass

from .models import DataItem, Resource

FIELD_LABELS = {f.name: str(f.verbose_name) for f in Resource._meta.get_fields() if hasattr(f, "verbose_name")}
FIELD_LABELS["provider"] = "数据资源提供方"
ITEM_LABELS = {
    "name": "数据项名称", "data_type": "数据项格式", "length": "长度", "description": "说明", "is_key": "主键",
    "required": "必填", "category": "分类", "grade": "分级", "sensitivity": "敏感类型", "source_type": "基础数据类型",
    "source_agency": "数源部门",
}


@dataclass
class Change:
    field: str
    label: str
    old: object
    new: object


@dataclass
class ItemChange:
    column: str
    name: str
    kind: str  # added | removed | changed
    changes: list[Change]


def _choices(model) -> dict[str, dict]:
    return {f.name: {str(k): str(v) for k, v in f.flatchoices} for f in model._meta.concrete_fields if f.choices}


FIELD_CHOICES = _choices(Resource) | {"share_methods": {str(k): str(v) for k, v in Resource.ShareMethod.choices}}
ITEM_CHOICES = _choices(DataItem)


def _show(value, choices: dict | None = None):
    """A stored value as a reader knows it: a choice by its label, a reference by its name."""
    choices = choices or {}
    if isinstance(value, dict):
        return value.get("name") or value.get("code") or ""
    if isinstance(value, list):
        return "、".join(choices.get(str(v), str(v)) for v in value)
    if value is None:
        return ""
    return choices.get(str(value), value) if isinstance(value, str) else value


def compare(old: dict, new: dict) -> tuple[list[Change], list[ItemChange]]:
    fields = [
        Change(key, FIELD_LABELS.get(key, key), _show(old.get(key), FIELD_CHOICES.get(key)), _show(new.get(key), FIELD_CHOICES.get(key)))
        for key in dict.fromkeys(list(old) + list(new))
        if key != "items" and _show(old.get(key)) != _show(new.get(key))
    ]
    before = {i["column"]: i for i in old.get("items", [])}
    after = {i["column"]: i for i in new.get("items", [])}
    items = []
    for column in dict.fromkeys(list(before) + list(after)):
        a, b = before.get(column), after.get(column)
        if a is None:
            items.append(ItemChange(column, b["name"], "added", []))
        elif b is None:
            items.append(ItemChange(column, a["name"], "removed", []))
        else:
            changes = [Change(k, label, _show(a.get(k), ITEM_CHOICES.get(k)), _show(b.get(k), ITEM_CHOICES.get(k)))
                       for k, label in ITEM_LABELS.items() if a.get(k) != b.get(k)]
            if changes:
                items.append(ItemChange(column, b["name"], "changed", changes))
    return fields, items
