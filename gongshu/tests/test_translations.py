"""A complete second language (issue 14 item 6): every message marked for translation in the templates and
the Python code (extracted by Django's makemessages, as a translator would) has an English text, none fuzzy.
Needs GNU gettext (Debian's ``gettext``: ``.ci/run`` installs it)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "gongshu" / "locale" / "en" / "LC_MESSAGES" / "django.po"


def _entries(text: str, option: str) -> list[str]:
    done = subprocess.run(["msgattrib", option, "--no-obsolete", "--no-wrap", "-"], input=text, capture_output=True,
                          text=True, check=True)
    return [line for line in done.stdout.splitlines() if line.startswith("msgid ") and line != 'msgid ""']


def test_every_message_has_an_english_text(tmp_path):
    if not shutil.which("xgettext"):
        pytest.fail("GNU gettext is not installed (apt-get install gettext)")
    kept = PO.read_bytes()
    try:  # makemessages merges what the code marks into the catalogue in place: put it back after
        done = subprocess.run([sys.executable, "manage.py", "makemessages", "-l", "en", "-v", "0", "--ignore", ".venv/*",
                               "--ignore", "var*", "--ignore", "bench/*", "--ignore", "test-artifacts/*"],
                              cwd=ROOT, capture_output=True, text=True, timeout=120,
                              env={"PATH": "/usr/bin:/bin", "GONGSHU_DATA_DIR": str(tmp_path / "var"),
                                   "DJANGO_SETTINGS_MODULE": "gongshu.settings"})
        merged = PO.read_text(encoding="utf-8")
    finally:
        PO.write_bytes(kept)
    assert done.returncode == 0, done.stderr[-2000:]
    untranslated, fuzzy = _entries(merged, "--untranslated"), _entries(merged, "--only-fuzzy")
    assert not untranslated and not fuzzy, "\n".join(["untranslated:", *untranslated, "fuzzy:", *fuzzy])
