"""The README is an entry point and the docs it points to exist: short, no dangling links, no references to
notebooks that are not in the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Written by other engineers in the same round: a link to them may precede the file, and their text is theirs.
PENDING = {ROOT / "docs" / "security.md", ROOT / "docs" / "coverage.md"}
OTHERS = {*PENDING, ROOT / "docs" / "audits.md"}
PAGES = [ROOT / "README.md", *sorted(set((ROOT / "docs").glob("*.md")) - OTHERS)]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _code_free(text: str) -> str:
    """The page without fenced code blocks (a shell comment there is not a heading or a link)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def test_the_readme_is_an_entry_point_of_at_most_300_lines():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 300
    headings = [line for line in lines if line.startswith("## ")]
    assert {"## Two commands", "## The workflow (pages)", "## Where to read more"} <= set(headings)


@pytest.mark.parametrize("page", PAGES, ids=lambda path: path.name)
def test_every_relative_link_points_at_a_file_in_the_repository(page):
    missing = []
    for target in LINK.findall(_code_free(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        if not path.exists() and path not in PENDING:
            missing.append(target)
    assert missing == []


# The one page that names the course notebooks' sections, to say what each mark in the code means
# (tests/test_references_doc.py checks that every mark has a row there).
REFERENCES = ROOT / "docs" / "references.md"


@pytest.mark.parametrize("page", [page for page in PAGES if page != REFERENCES], ids=lambda path: path.name)
def test_no_page_cites_notebook_sections_that_are_not_in_the_repository(page):
    text = page.read_text(encoding="utf-8")
    assert re.findall(r"\bN\d\d\b(?: §\d+)?", text) == []
    assert re.findall(r"\bissue \d+", text) == []


def test_the_docs_keep_the_moved_readme_sections():
    """Each section that left the README has one home in docs/ (spot checks of a figure from each)."""
    expected = {
        "methods.md": "1,500 random DAGs with latents, 0 mismatches",
        "models.md": "--structured-outputs-config.backend xgrammar",
        "projects.md": "at most 20 MB",
        "notebook.md": "every estimate and interval equals the project's to 1e-9",
        "cli.md": "$py -m causal_core lab --task estimand-card",
        "testing.md": "147 tried (61 cases: 106 CLI runs, 41 app runs)",
        "architecture.md": "legacy multipage mode",
    }
    for name, phrase in expected.items():
        assert phrase in (ROOT / "docs" / name).read_text(encoding="utf-8"), name
