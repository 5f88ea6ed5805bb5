"""What keeps the template's own suite short (docs/performance.md, "The template's own suite")."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import RUN_DIR_VAR, generated_env
from test_matrix import collected, collected_in_order


def test_slow_tests_are_handed_out_first_one_at_a_time(pytestconfig: pytest.Config) -> None:
    """Longest first, one test per dispatch (tests/conftest.py, pyproject.toml): the two xdist
    workers finish together instead of one running generated suites while the other waits."""
    order = collected_in_order()
    slow = collected("-m", "slow")
    assert slow
    assert set(order[: len(slow)]) == slow
    assert pytestconfig.getoption("maxschedchunk") == 1


def test_generated_projects_write_bytecode_and_share_a_mypy_cache_per_worker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A CI image's PYTHONDONTWRITEBYTECODE would make every process of a generated suite
    compile its imports again; mypy reuses what the worker's earlier projects taught it."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv(RUN_DIR_VAR, str(tmp_path))
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")

    env = generated_env({})

    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["MYPY_CACHE_DIR"] == str(tmp_path / "mypy-cache-gw1")
    assert generated_env({"PYTHONDONTWRITEBYTECODE": "1"})["PYTHONDONTWRITEBYTECODE"] == "1"
