"""The documentation site builds strict (no broken link), shows every page, and the template
repository's GitHub workflow lints clean."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO

ACTIONLINT = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"  # .ci/run installs it


def nav_pages(nav: list[object]) -> set[str]:
    pages: set[str] = set()
    for entry in nav:
        values = entry.values() if isinstance(entry, dict) else [entry]
        for value in values:
            pages |= nav_pages(value) if isinstance(value, list) else {str(value)}
    return pages


def test_site_builds_strict(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=REPO,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    changelog = (tmp_path / "changelog" / "index.html").read_text(encoding="utf-8")
    newest = next(
        line.removeprefix("## ").strip()
        for line in (REPO / "CHANGELOG.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("## ")
    )
    assert newest in changelog  # the page is CHANGELOG.md itself, not the pointer to it
    assert 'href="../updating/"' in changelog  # its docs/ links rewritten for the site


def test_every_page_is_in_the_navigation() -> None:
    config = yaml.load((REPO / "mkdocs.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    pages = {path.name for path in (REPO / "docs").glob("*.md")}
    assert nav_pages(config["nav"]) == pages


def test_workflow_lints_clean() -> None:
    actionlint = shutil.which("actionlint") or shutil.which(
        "actionlint", path=str(Path.home() / "go" / "bin")
    )
    if actionlint is None:
        pytest.skip(f"actionlint not installed: go install {ACTIONLINT}")
    result = subprocess.run(
        [actionlint, ".github/workflows/ci.yml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
