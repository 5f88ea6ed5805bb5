"""One combination can be run alone, and the CI matrix is read from copier.yml."""

from __future__ import annotations

import functools
import json
import subprocess
import sys

from conftest import REPO, combinations, combo_id
from matrix import combo_name


def collected(*args: str) -> set[str]:
    """Node ids ``pytest --collect-only`` selects with ``args``."""
    return set(collected_in_order(*args))


@functools.cache
def collected_in_order(*args: str) -> tuple[str, ...]:
    """Node ids ``pytest --collect-only`` selects with ``args``, in the order they run."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return tuple(line for line in result.stdout.splitlines() if "::" in line)


def test_matrix_lists_every_combination_of_copier_yml() -> None:
    printed = subprocess.run(
        [sys.executable, "tests/matrix.py"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(printed) == {"combination": [combo_name(c) for c in combinations()]}


def test_one_combination_and_the_rest_add_up_to_the_whole_suite() -> None:
    everything = collected()
    combo = combinations()[-1]
    alone = collected("--combination", combo_name(combo))
    assert alone
    assert all(f"[{combo_id(combo)}" in node or f"-{combo_id(combo)}]" in node for node in alone)
    per_combination = collected(
        *(arg for c in combinations() for arg in ("--combination", combo_name(c)))
    )
    rest = collected("--without-combinations")
    assert alone <= per_combination
    assert not per_combination & rest
    assert per_combination | rest == everything


def test_an_unknown_combination_is_refused_with_the_choices() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "--combination", "sqlite/x/y"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "unknown combination 'sqlite/x/y'" in result.stderr
    assert "postgres/background_tasks/layered" in result.stderr
