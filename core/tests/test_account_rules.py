"""P3 (issue 13 item 9): the account values — password rules, lockout, idle timeout, two factors, token lifetime —
are the rulebook's ``account.*`` rules with their articles (GB/T 22239-2019 8.1.4.1, SYS Art. 60), read when the
settings load, before Django is configured (foundation.rulebook.load)."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.contrib.auth.password_validation import get_password_validators, validate_password
from django.core.exceptions import ValidationError

from foundation import rulebook
from foundation.passwords import CharacterClassValidator
from foundation.rulebook import RulebookError
from gongshu.settings.security import account_settings

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT_SETTINGS = ("AUTH_PASSWORD_VALIDATORS", "AXES_FAILURE_LIMIT", "AXES_COOLOFF_TIME", "SESSION_COOKIE_AGE",
                    "GONGSHU_2FA_ROLES", "GONGSHU_TOKEN_DEFAULT_DAYS", "GONGSHU_TOKEN_MAX_DAYS")
CHANGED = {"account.password_min_length": 14, "account.password_min_classes": 4, "account.login_failure_limit": 3,
           "account.lockout_minutes": 60, "account.idle_timeout_minutes": 10, "account.two_factor_roles": ["supervisor"],
           "account.token_default_days": 30, "account.token_max_days": 180}


def _rulebook(tmp_path: Path, **values) -> Path:
    data = yaml.safe_load((rulebook.RULEBOOK_DIR / "shuangyashan.yaml").read_text(encoding="utf-8"))
    for key, value in values.items():
        data["rules"][key]["value"] = value
    path = tmp_path / "accounts.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _options(validators: list[dict], name: str) -> dict:
    return next(v["OPTIONS"] for v in validators if v["NAME"].endswith(name))


def test_every_account_rule_cites_mlps_level_3_P3():
    book = rulebook.load("shuangyashan")
    for key in CHANGED:
        assert "GB/T 22239-2019 8.1.4.1" in book.rule(key).article and "SYS Art. 60" in book.rule(key).article


def test_the_running_settings_are_the_rulebooks_P3():
    expected = account_settings(rulebook.load(settings.GONGSHU_RULEBOOK))
    assert {name: getattr(settings, name) for name in ACCOUNT_SETTINGS} == expected
    # the values the shipped rulebook gives
    assert (settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME, settings.SESSION_COOKIE_AGE) == (5, dt.timedelta(minutes=30), 15 * 60)
    assert (settings.GONGSHU_TOKEN_DEFAULT_DAYS, settings.GONGSHU_TOKEN_MAX_DAYS) == (90, 365)
    assert settings.GONGSHU_2FA_ROLES == ["bureau_admin", "service_centre_staff"]
    assert _options(settings.AUTH_PASSWORD_VALIDATORS, "MinimumLengthValidator") == {"min_length": 10}
    assert _options(settings.AUTH_PASSWORD_VALIDATORS, "CharacterClassValidator") == {"min_classes": 3}


def test_each_account_value_comes_from_the_rulebook_P3(tmp_path):
    """Read without Django (rulebook.load), as the settings do: every value changes with its rule."""
    values = account_settings(rulebook.load(str(_rulebook(tmp_path, **CHANGED))))
    assert _options(values["AUTH_PASSWORD_VALIDATORS"], "MinimumLengthValidator") == {"min_length": 14}
    assert _options(values["AUTH_PASSWORD_VALIDATORS"], "CharacterClassValidator") == {"min_classes": 4}
    assert values["AXES_FAILURE_LIMIT"] == 3
    assert values["AXES_COOLOFF_TIME"] == dt.timedelta(minutes=60)
    assert values["SESSION_COOKIE_AGE"] == 10 * 60
    assert values["GONGSHU_2FA_ROLES"] == ["supervisor"]
    assert (values["GONGSHU_TOKEN_DEFAULT_DAYS"], values["GONGSHU_TOKEN_MAX_DAYS"]) == (30, 180)


def test_password_rules_of_another_rulebook_are_applied_P3(tmp_path):
    validators = get_password_validators(account_settings(rulebook.load(str(_rulebook(tmp_path, **CHANGED))))["AUTH_PASSWORD_VALIDATORS"])
    validate_password("Kx7#mQ2!vL9@pR4$", password_validators=validators)  # 16 characters, 4 classes
    with pytest.raises(ValidationError) as short:
        validate_password("Kx7#mQ2!vL9@", password_validators=validators)  # 12 < 14
    assert "password_too_short" in {e.code for e in short.value.error_list}
    with pytest.raises(ValidationError) as simple:
        validate_password("Kx7mQ2vL9pR4wT8z", password_validators=validators)  # no special character: 3 < 4
    assert {e.code for e in simple.value.error_list} == {"password_too_simple"}


def test_the_character_class_validator_defaults_to_the_rulebook_P3(settings, tmp_path):
    assert CharacterClassValidator().min_classes == 3
    settings.GONGSHU_RULEBOOK = str(_rulebook(tmp_path, **{"account.password_min_classes": 2}))
    assert CharacterClassValidator().min_classes == 2
    CharacterClassValidator().validate("onlylower123")


@pytest.mark.parametrize("roles", [["bureau_admin", "no_such_role"], "bureau_admin, service_centre_staff", [1]])
def test_two_factor_roles_must_be_p2_roles_P3(tmp_path, roles):
    path = _rulebook(tmp_path, **{"account.two_factor_roles": roles})
    with pytest.raises(RulebookError) as exc:
        rulebook.load(str(path))
    assert exc.value.code == "rulebook_invalid"


def test_a_server_started_on_another_rulebook_takes_its_account_values_P3(tmp_path):
    """The settings read the rulebook GONGSHU_RULEBOOK names (as settings.GONGSHU_RULEBOOK), in a child
    process as a server would start."""
    path = _rulebook(tmp_path, **CHANGED)
    probe = ("import json, django; django.setup(); from django.conf import settings as s; print(json.dumps("
             "[s.GONGSHU_RULEBOOK, s.AXES_FAILURE_LIMIT, s.SESSION_COOKIE_AGE, s.GONGSHU_2FA_ROLES, s.GONGSHU_TOKEN_MAX_DAYS]))")
    env = {k: v for k, v in os.environ.items() if k not in ("GONGSHU_ENV", "DATABASE_URL")}
    env.update(GONGSHU_DATA_DIR=str(tmp_path / "data"), GONGSHU_KEY_DIR=str(tmp_path / "keys"),
               DJANGO_SETTINGS_MODULE="gongshu.settings", GONGSHU_RULEBOOK=str(path))
    started = subprocess.run([sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout) == [str(path), 3, 600, ["supervisor"], 180]

    env["GONGSHU_RULEBOOK"] = str(_rulebook(tmp_path, **{"account.two_factor_roles": ["root"]}))
    refused = subprocess.run([sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "RulebookError" in refused.stderr and "root" in refused.stderr
