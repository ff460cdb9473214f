"""The classification and grading scheme: seeded from the rulebook, then the bureau's to edit."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from foundation import rulebook

from .models import Category, Grade


@dataclass(frozen=True)
class SensitivityType:
    key: str
    label: str
    category: str
    grade: str
    mask: str
    keep: tuple[int, int] = (1, 1)  # a partial mask keeps this many characters at the start and at the end
    names: tuple[str, ...] = ()  # what a data item of this type is called besides its label (身份证号…)

    def named(self, item_name: str, column: str) -> bool:
        """Whether an item is of this type by what it is called: its column is the type's key, or its name
        is the type's label or one of its other names."""
        return column == self.key or item_name.strip() in {self.label, *self.names}


_types: dict[int, tuple[object, dict]] = {}


def sensitivity_types() -> dict[str, SensitivityType]:
    """The rulebook's sensitivity types (read on every masked value: built once per rulebook)."""
    book = rulebook.current()
    hit = _types.get(id(book))
    if hit is None or hit[0] is not book:
        spec = book.grading.get("sensitivity") or {}
        hit = _types[id(book)] = (book, {key: SensitivityType(key, v["label"], v["category"], v["grade"], v["mask"],
                                                               tuple(v.get("keep", (1, 1))), tuple(v.get("names", ())))
                                        for key, v in spec.items()})
    return hit[1]


@transaction.atomic
def seed(grade_model=Grade, category_model=Category) -> tuple[int, int]:
    """Create the rulebook's grades and categories that are missing; existing rows are left as edited."""
    spec = rulebook.current().grading
    grades = 0
    for g in spec.get("grades", []):
        defaults = {k: v for k, v in g.items() if k not in ("code", "important_data")}  # the scheme's, not the row's
        _, created = grade_model.objects.get_or_create(code=g["code"], defaults=defaults)
        grades += created
    categories = 0
    for c in spec.get("categories", []):
        parent = category_model.objects.get(code=c["parent"]) if c.get("parent") else None
        _, created = category_model.objects.get_or_create(code=c["code"], defaults={"name": c["name"], "parent": parent})
        categories += created
    return grades, categories


def important_grade_codes() -> frozenset[str]:
    """The grades that count as important data (G3: the important-data catalog), as the scheme says
    (``important_data: true``; GB/T 43697-2024: important and core data), not by their codes."""
    return frozenset(g["code"] for g in rulebook.current().grading.get("grades", []) if g.get("important_data"))


def grade(code: str) -> Grade:
    return Grade.objects.get(code=code)


def highest(grades) -> Grade | None:
    """The most sensitive of some grades: a resource is as sensitive as its most sensitive item."""
    present = [g for g in grades if g is not None]
    return max(present, key=lambda g: g.level) if present else None
