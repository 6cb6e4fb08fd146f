"""The docs: the README stays a front door, its links resolve, the Settings page is the code's, the site builds
strictly and fetches nothing, and no prose carries a commit hash or a test count."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tools import settings_doc
from videoanalysis.settings import Settings

README = ROOT / "README.md"
DOCS = ROOT / "docs"
LINK = re.compile(r"\]\(([^)\s]+)\)")
COMMIT = re.compile(r"(?<![\w./-])(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}(?![\w/-])")


def _prose() -> dict[Path, str]:
    """The README and every docs page."""
    return {path: path.read_text() for path in [README, *sorted(DOCS.rglob("*.md"))]}


def _slug(heading: str) -> str:
    """The anchor Python-Markdown's toc gives a heading."""
    text = re.sub(r"[^\w\s-]", "", heading.replace("`", "")).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def test_the_readme_is_a_front_door() -> None:
    assert len(README.read_text().splitlines()) <= 250


@pytest.mark.parametrize("path", [README, *sorted(DOCS.rglob("*.md"))], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path: Path) -> None:
    """README links to files and docs anchors; mkdocs checks the docs' own links, this also the README's."""
    broken = []
    for target in LINK.findall(path.read_text()):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        if not resolved.exists():
            broken.append(target)
        elif anchor and resolved.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", resolved.read_text(), re.MULTILINE)
            if anchor not in {_slug(heading) for heading in headings}:
                broken.append(target)
    assert broken == []


def test_the_readme_links_the_generated_settings_page() -> None:
    assert "[Settings](docs/settings.md)" in README.read_text()


def test_the_settings_page_is_generated_from_the_code() -> None:
    """Run `python -m tools.settings_doc` after changing videoanalysis/settings.py."""
    assert (DOCS / "settings.md").read_text() == settings_doc.render()


def test_every_setting_has_a_meaning_and_every_meaning_a_setting() -> None:
    assert list(settings_doc.MEANINGS) == [field.name for field in fields(Settings)]
    page = (DOCS / "settings.md").read_text()
    assert all(f"| `{field.name.upper()}` |" in page for field in fields(Settings))


def test_decision_records_are_dated_listed_and_measured() -> None:
    records = sorted((DOCS / "decisions").glob("*.md"))
    index = (DOCS / "decisions" / "index.md").read_text()
    nav = (ROOT / "mkdocs.yml").read_text()
    named = [record for record in records if record.name != "index.md"]
    assert named
    for record in named:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}-[a-z0-9-]+\.md", record.name), record.name
        assert f"]({record.name})" in index and f"decisions/{record.name}" in nav, record.name
        assert "**Measured" in record.read_text(), record.name


def test_no_prose_names_a_commit_or_counts_tests() -> None:
    """Measurements carry dates and live in bench/results; a hash or a test count goes stale with the next commit."""
    found = {
        str(path.relative_to(ROOT)): hits
        for path, text in _prose().items()
        if (hits := COMMIT.findall(text) + re.findall(r"\b\d[\d,]* tests\b", text))
    }
    assert found == {}


def test_the_commit_pattern_finds_a_hash_and_not_a_file_name() -> None:
    assert COMMIT.findall("the code of commit fd365f4, then") == ["fd365f4"]
    assert COMMIT.findall("tests/support/history-c89a2ec.json, 1280x720, 2026-12-01") == []


def test_the_site_builds_strictly_and_fetches_nothing(tmp_path: Path) -> None:
    """`make docs` (and CI) build it strictly; the built pages load no font, script or style from the network.
    (Not --quiet: mkdocs then drops the warnings that --strict counts, and passes.)"""
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    pages = sorted([*tmp_path.rglob("*.html"), *tmp_path.rglob("*.css")])
    assert (tmp_path / "settings.html").is_file() and (tmp_path / "summary.schema.json").is_file()
    remote = re.compile(r"<(?:script|img|link)\b[^>]*\b(?:src|href)=\"(?:https?:)?//|url\((?:['\"])?(?:https?:)?//")
    assert [page.name for page in pages if remote.search(page.read_text())] == []
