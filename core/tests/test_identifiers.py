"""P1: organisations by USCC (GB 32100), persons by citizen ID (GB 11643), check digits validated."""

import datetime as dt

import pytest
from click.testing import CliRunner

from foundation.identifiers import citizen_id_problem, make_citizen_id, make_uscc, uscc_problem
from gongshu.cli import main


@pytest.mark.parametrize("code", ["91110000600037341L", "91350100M000100Y43", make_uscc("230500", 12345678)])
def test_valid_uscc(code):
    assert uscc_problem(code) is None


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91110000600037341M", "check character does not match"),
        ("9111000060003734", "wrong length"),
        ("91110000600037341!", "wrong format"),
    ],
)
def test_invalid_uscc_names_the_reason(code, reason):
    assert uscc_problem(code) == reason


def test_citizen_id_with_x_check_digit_is_valid():
    assert citizen_id_problem("11010519491231002X") is None
    assert citizen_id_problem("11010519491231002x") is None  # lower-case x is the same number


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("110105194912310021", "check character does not match"),
        ("110105194902300021", "invalid date of birth"),  # 30 February
        ("11010519491231002", "wrong length"),
        ("11010519491231002Y", "wrong format"),
    ],
)
def test_invalid_citizen_id_names_the_reason(number, reason):
    assert citizen_id_problem(number) == reason


def test_citizen_id_born_in_the_future_is_invalid():
    number = make_citizen_id("230502", dt.date(2030, 1, 1), 1)
    assert citizen_id_problem(number, today=dt.date(2026, 11, 23)) == "date of birth in the future"


def test_generated_identifiers_carry_valid_check_digits():
    assert all(uscc_problem(make_uscc("230502", i, authority="91")) is None for i in range(500))
    assert all(citizen_id_problem(make_citizen_id("230502", dt.date(1990, 1, 1) + dt.timedelta(days=i), i)) is None for i in range(500))


def test_check_command_prints_valid_and_exits_0():
    result = CliRunner().invoke(main, ["check", "uscc", "91110000600037341L"])
    assert result.exit_code == 0
    assert result.output == "valid\n"


def test_check_command_prints_reason_and_exits_1():
    result = CliRunner().invoke(main, ["check", "citizen-id", "110105194912310021"])
    assert result.exit_code == 1
    assert result.output == "invalid: check character does not match\n"
