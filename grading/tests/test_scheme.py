"""G1: the default scheme is GB/T 43697-2024, each grade bound to its protection measures."""

import pytest

from grading.models import Category, Grade
from grading.scheme import highest, seed

pytestmark = pytest.mark.django_db


def test_core_important_general_with_levels():
    assert list(Grade.objects.values_list("code", flat=True)) == [
        "core", "important", "general_sensitive", "general_internal", "general_public",
    ]


def test_each_grade_binds_protection_measures():
    core, important, public = (Grade.objects.get(code=c) for c in ("core", "important", "general_public"))
    assert core.encrypt_at_rest and important.encrypt_at_rest and not public.encrypt_at_rest
    assert (core.access, core.masking, core.export) == ("sandbox_only", "drop", "prohibited")
    assert (important.masking, important.export, important.log_detail) == ("hash", "approval", "full")
    assert (public.access, public.masking) == ("open", "none")
    assert core.is_important_or_core and not public.is_important_or_core


def test_categories_form_a_tree():
    assert Category.objects.get(code="P1").parent.code == "P"


def test_the_most_sensitive_grade_wins():
    grades = list(Grade.objects.filter(code__in=["general_public", "important", "general_internal"]))
    assert highest(grades + [None]).code == "important"
    assert highest([]) is None


def test_seeding_again_keeps_the_bureaus_edits():
    Grade.objects.filter(code="general_internal").update(masking="partial")
    assert seed() == (0, 0)
    assert Grade.objects.get(code="general_internal").masking == "partial"


def test_which_grades_are_important_data_comes_from_the_scheme_G3(city, settings, tmp_path):
    """Issue 13 item 9: the important-data catalog lists the grades the scheme marks ``important_data``, not
    the codes important/core: a city whose scheme also marks general_sensitive lists those items too."""
    import yaml

    from catalog.selectors import important_data
    from foundation import rulebook
    from grading.scheme import important_grade_codes

    assert important_grade_codes() == {"important", "core"}
    before = {(row.resource_id, row.column) for row in important_data(city.actor("bureau"))}
    data = yaml.safe_load((rulebook.RULEBOOK_DIR / "shuangyashan.yaml").read_text(encoding="utf-8"))
    for grade in data["grading"]["grades"]:
        grade["important_data"] = grade["code"] in ("important", "core", "general_sensitive")
    path = tmp_path / "wider.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    settings.GONGSHU_RULEBOOK = str(path)
    assert important_grade_codes() == {"important", "core", "general_sensitive"}
    assert Grade.objects.get(code="general_sensitive").is_important_or_core
    after = {(row.resource_id, row.column) for row in important_data(city.actor("bureau"))}
    assert before < after
