"""G4: sensitive columns are recognised by check digits, not shapes, and graded from the scheme."""

import random

import pytest
from click.testing import CliRunner

from foundation.identifiers import make_uscc, random_citizen_id
from gongshu.cli import main
from grading.discovery import discover

pytestmark = pytest.mark.django_db
rng = random.Random(7)


def _bad_check_digit(number: str) -> str:
    last = number[-1]
    return number[:-1] + ("0" if last != "0" else "1")


def _column(values):
    return discover(["c"], [[v] for v in values])


def test_valid_citizen_ids_are_found_with_their_share_and_grade():
    (finding,) = _column([random_citizen_id(rng, "230502") for _ in range(200)])
    assert (finding.sensitivity, finding.share, finding.grade, finding.category) == ("citizen_id", 1.0, "general_sensitive", "P1")


def test_18_digit_numbers_with_wrong_check_digits_are_not_citizen_ids():
    values = [_bad_check_digit(random_citizen_id(rng, "230502")) for _ in range(200)]
    assert all(f.sensitivity != "citizen_id" for f in _column(values))


def test_a_column_below_the_rulebook_threshold_gets_no_suggestion():
    values = [random_citizen_id(rng, "230502") for _ in range(70)] + ["未知"] * 30  # 70% < 80%
    assert _column(values) == []


def test_threshold_comes_from_the_rulebook(settings, tmp_path):
    from foundation import rulebook

    text = (rulebook.RULEBOOK_DIR / "shuangyashan.yaml").read_text(encoding="utf-8").replace("value: 0.8", "value: 0.6")
    path = tmp_path / "city.yaml"
    path.write_text(text, encoding="utf-8")
    settings.GONGSHU_RULEBOOK = str(path)
    values = [random_citizen_id(rng, "230502") for _ in range(70)] + ["未知"] * 30
    assert _column(values)[0].sensitivity == "citizen_id"


def test_uscc_by_check_character():
    good = [make_uscc("230502", i, authority="91") for i in range(100)]
    assert _column(good)[0].sensitivity == "uscc"
    assert all(f.sensitivity != "uscc" for f in _column([_bad_check_digit(v) for v in good]))


def test_bank_cards_by_luhn():
    from stdnum import luhn

    def card(i):
        body = f"62220{i:013d}"
        return body + luhn.calc_check_digit(body)

    assert _column([card(i) for i in range(100)])[0].sensitivity == "bank_card"
    assert all(f.sensitivity != "bank_card" for f in _column([_bad_check_digit(card(i)) for i in range(100)]))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["13812345678", "139-1234-5678", "+8615012345678", "18600001111"], "mobile"),
        (["张伟", "王芳", "欧阳娜娜", "李强"], "name"),
        (["黑龙江省双鸭山市尖山区幸福路12号", "双鸭山市岭东区中山街道和平社区3栋2单元"], "address"),
        (["黑A12345", "京B6F789", "粤BD12345"], "plate"),
        (["zhang@example.com", "li.si@gov.cn"], "email"),
    ],
)
def test_other_sensitive_types(values, expected):
    assert _column(values)[0].sensitivity == expected


def test_plain_columns_are_left_alone():
    assert _column(["已注销", "存续", "吊销"] * 10) == []
    assert _column([str(i) for i in range(100)]) == []


def test_only_the_rulebook_sample_size_is_read():
    values = [random_citizen_id(rng, "230502") for _ in range(1000)] + ["x"] * 5000
    (finding,) = _column(values)
    assert finding.non_empty == 1000


def test_cli_reads_a_gbk_sample(tmp_path):
    path = tmp_path / "sample.csv"
    rows = ["公民身份号码,姓名,状态"] + [f"{random_citizen_id(rng, '230502')},张三,正常" for _ in range(50)]
    path.write_bytes("\n".join(rows).encode("gbk"))
    result = CliRunner().invoke(main, ["catalog", "discover", str(path)])
    assert result.exit_code == 0, result.output
    assert "公民身份号码\tcitizen_id\t100%" in result.output
    assert "姓名\tname" in result.output
    assert "状态" not in result.output
