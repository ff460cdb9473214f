"""Rules are data: every deadline comes from the rulebook with its article."""

import pytest
from click.testing import CliRunner

from foundation import rulebook
from foundation.rulebook import RulebookError
from gongshu.cli import main


def test_default_rulebook_is_shuangyashan_with_articles():
    book = rulebook.current()
    assert book.name == "shuangyashan"
    assert rulebook.deadline("share.conditional.review") == 1
    assert rulebook.rule("share.conditional.review").article == "SYS Art. 27(2)"
    assert rulebook.deadline("catalog.update_review") == 2
    assert rulebook.value("usage_log.retention") == 3
    assert all(rule.article for rule in book.rules.values())


def test_statutory_source_agencies_of_art_16_ship_as_rules():
    sources = rulebook.current().sources
    assert sources["household_registration"].sectors == ("public_security",)
    assert sources["real_estate"].sectors == ("natural_resources",)
    assert sources["market_entity"].sectors == ("market_regulation",)
    assert set(sources["death"].sectors) == {"health", "civil_affairs", "public_security"}


def test_unknown_rule_and_wrong_unit_are_refused():
    with pytest.raises(RulebookError):
        rulebook.deadline("no.such.rule")
    with pytest.raises(RulebookError):
        rulebook.deadline("usage_log.retention")  # years, not working days


def test_another_city_points_at_its_own_rulebook(settings, tmp_path):
    path = tmp_path / "othercity.yaml"
    path.write_text(
        "name: othercity\nrules:\n  share.conditional.review: {value: 3, unit: wd, article: 'X Art. 9', origin: regulation}\n",
        encoding="utf-8",
    )
    settings.GONGSHU_RULEBOOK = str(path)
    assert rulebook.deadline("share.conditional.review") == 3


def test_cli_rules_lists_key_value_citation(db):
    result = CliRunner().invoke(main, ["rules"])
    assert result.exit_code == 0
    assert "share.conditional.review\t1 wd\tSYS Art. 27(2)" in result.output
    assert "sources.household_registration\tpublic_security\tSYS Art. 16(1)(一)" in result.output
