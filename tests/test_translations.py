"""Every string the hub shows or answers has a zh-Hans translation (UI and messages in Chinese and English).

The project's strings are extracted afresh (``makemessages`` on a copy of the tree, as ``make messages`` does) and
each one must be translated in some catalog of the project: a string added without its translation fails here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns(".venv", "var", ".git", "node_modules", "__pycache__", "tests", "bench", "vendor")

pytestmark = pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext (xgettext)")


def _catalogs(root: Path) -> list[Path]:
    return [p for p in root.glob("**/locale/zh_Hans/LC_MESSAGES/*.po") if ".venv" not in p.parts]


def test_every_string_has_a_chinese_translation(tmp_path):
    translated = {
        (entry.msgctxt, entry.msgid)
        for catalog in _catalogs(ROOT)
        for entry in polib.pofile(str(catalog))
        if entry.translated() and not entry.obsolete
    }
    copy = tmp_path / "tree"
    shutil.copytree(ROOT, copy, ignore=SKIP)
    for catalog in _catalogs(copy):
        catalog.unlink()
    (copy / "hub" / "locale" / "zh_Hans" / "LC_MESSAGES").mkdir(parents=True, exist_ok=True)
    for domain in ("django", "djangojs"):
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "-d", domain, "--ignore", "*/vendor/*"],
            cwd=copy,
            check=True,
            capture_output=True,
            env={"DJANGO_SETTINGS_MODULE": "hub.settings.test", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )
    missing = sorted(
        f"{entry.occurrences[0][0] if entry.occurrences else '?'}: {entry.msgid!r}"
        for catalog in _catalogs(copy)
        for entry in polib.pofile(str(catalog))
        if (entry.msgctxt, entry.msgid) not in translated
    )
    assert not missing, f"{len(missing)} strings without a zh-Hans translation:\n" + "\n".join(missing[:50])
