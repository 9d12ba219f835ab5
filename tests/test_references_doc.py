"""Every "N01 §n" / "N09 §n" mark in the repository resolves to a row of docs/references.md.

The course notebooks are not in the repository, so a mark with no row would point nowhere; a new mark fails here
until its section is described.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARK = re.compile(r"\b(N0[19]) §(\d+)(?:[–-]§?(\d+))?")
ROW = re.compile(r"^\| §(\d+) \|", re.MULTILINE)


def _documented() -> set[tuple[str, int]]:
    text = (ROOT / "docs" / "references.md").read_text(encoding="utf-8")
    parts = re.split(r"^## (N0[19])\b", text, flags=re.MULTILINE)
    return {(notebook, int(number)) for notebook, body in zip(parts[1::2], parts[2::2], strict=True)
            for number in ROW.findall(body)}


def _marks() -> dict[tuple[str, int], str]:
    files = subprocess.run(["git", "ls-files", "*.py", "*.md"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    found: dict[tuple[str, int], str] = {}
    for name in files:
        path = ROOT / name
        if not path.is_file():
            continue
        for match in MARK.finditer(path.read_text(encoding="utf-8", errors="replace")):
            notebook, first, last = match.group(1), int(match.group(2)), match.group(3)
            for number in {first, int(last) if last else first}:
                found.setdefault((notebook, number), name)
    return found


def test_the_doc_parses_into_both_notebooks_sections():
    documented = _documented()
    assert {notebook for notebook, _ in documented} == {"N01", "N09"}
    assert len(documented) >= 20


def test_every_section_mark_in_the_repository_has_a_row():
    missing = {f"{notebook} §{number} (first in {name})" for (notebook, number), name in _marks().items()
               if (notebook, number) not in _documented()}
    assert not missing, f"docs/references.md has no row for: {sorted(missing)}"


def test_the_check_finds_marks_at_all():
    marks = _marks()
    assert ("N09", 14) in marks and ("N01", 11) in marks  # the rubric's and the estimators' marks
