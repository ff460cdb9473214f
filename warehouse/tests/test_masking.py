"""Masking by grade (G1) is written twice: as SQL inside the engine and in Python for the rows a key
lookup has found. Both must give the same output for every mask, on random and on real values."""

import datetime as dt

import duckdb
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from warehouse import masking

MASKS = [
    masking.Mask("hash"),
    masking.Mask("generalise", "address"),
    masking.Mask("generalise", "email"),
    masking.Mask("generalise", "", "date"),
    masking.Mask("partial", "email"),
    *[masking.Mask("partial", kind) for kind in ("citizen_id", "bank_card", "mobile", "plate", "uscc", "name", "other")],
]
REAL = ["230502199001011234", "王小明", "欧阳", "黑龙江省双鸭山市尖山区幸福路12号", "双鸭山市集贤县福利镇",
        "哈尔滨市道里区", "某地某号", "zhang.san@example.cn", "a@b", "@x", "", "1", "黑A12345",
        "91230500MA1B2C3D4X", "6222021234567890123"]
_text = st.text(alphabet=st.sampled_from("0123456789Xx@.-_ 区县旗市镇路号王李张省abc"), max_size=24)


def _sql(mask: masking.Mask, value):
    con = duckdb.connect()
    kind = "DATE" if isinstance(value, dt.date) else "VARCHAR"
    return con.execute(f"SELECT {mask.sql('v')} FROM (SELECT CAST(? AS {kind}) AS v)", [value]).fetchone()[0]


@pytest.mark.parametrize("mask", MASKS, ids=lambda m: f"{m.method}-{m.sensitivity or m.data_type}")
def test_python_and_sql_masks_agree_on_real_values_G1(mask):
    values = [dt.date(1990, 1, 2), None] if mask.data_type == "date" else [*REAL, None]
    for value in values:
        assert mask.apply(value) == _sql(mask, value), (mask, value)


@hsettings(max_examples=150, deadline=None)
@given(value=_text, index=st.integers(0, len(MASKS) - 1))
def test_python_and_sql_masks_agree_on_random_text_G1(value, index):
    mask = MASKS[index]
    if mask.data_type == "date":
        return
    assert mask.apply(value) == _sql(mask, value)


def test_masked_output_keeps_only_what_the_type_allows():
    assert masking.Mask("partial", "citizen_id").apply("230502199001011234") == "230502********1234"
    assert masking.Mask("partial", "mobile").apply("13912345678") == "139****5678"
    assert masking.Mask("generalise", "address").apply("双鸭山市尖山区幸福路12号") == "双鸭山市尖山区"
    assert masking.Mask("generalise", "", "date").apply(dt.date(1990, 1, 2)) == "1990"
    assert masking.Mask("drop").drops


def test_keep_lengths_are_the_rulebooks_G1(settings, tmp_path):
    """Issue 13 item 9: what a partial mask keeps per sensitivity type is the rulebook's (``keep``)."""
    import yaml

    from foundation import rulebook

    mobile = masking.Mask("partial", "mobile")
    assert mobile.apply("13812345678") == "138****5678"
    data = yaml.safe_load((rulebook.RULEBOOK_DIR / "shuangyashan.yaml").read_text(encoding="utf-8"))
    data["grading"]["sensitivity"]["mobile"]["keep"] = [3, 0]
    path = tmp_path / "keep.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    settings.GONGSHU_RULEBOOK = str(path)
    assert mobile.apply("13812345678") == "138********"
