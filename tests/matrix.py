"""The combinations of answers the template offers, read from copier.yml: one source for the
suite's parametrisation and for the GitHub Actions matrix.

``python tests/matrix.py`` prints the matrix as JSON (``{"combination": ["postgres/...", ...]}``),
which the workflow's ``matrix`` job hands to the per-combination jobs. A new choice in
copier.yml joins both without another edit.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
COPIER_YML = REPO / "copier.yml"
MATRIX_QUESTIONS = ("database", "queue", "layout")


def load_questions() -> dict[str, dict[str, Any]]:
    """The questions of copier.yml (settings, whose keys start with ``_``, left out)."""
    config: dict[str, Any] = yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))
    return {name: spec for name, spec in config.items() if not name.startswith("_")}


def choice_values(question: str) -> list[str]:
    """The values a choice question accepts, in copier.yml order (label: value maps too)."""
    choices = load_questions()[question]["choices"]
    values = choices.values() if isinstance(choices, dict) else choices
    return [str(value) for value in values]


def service_default(question: str) -> str:
    """The default a service render gets. A question whose default is a template (the
    service's own answer when a domain is added, docs/domains.md) gives it after ``else``."""
    default = str(load_questions()[question]["default"])
    if "{{" not in default:
        return default
    literal = re.fullmatch(r"\{\{ .* if domain else '([^']*)' \}\}", default)
    if literal is None:
        raise ValueError(f"{question}: no literal service default in {default!r}")
    return literal.group(1)


def default_answers() -> dict[str, str]:
    """The defaults of the matrix questions for a service."""
    return {question: service_default(question) for question in MATRIX_QUESTIONS}


def combinations() -> list[dict[str, str]]:
    """Full product of the matrix questions' choices."""
    per_question = [choice_values(question) for question in MATRIX_QUESTIONS]
    return [
        dict(zip(MATRIX_QUESTIONS, values, strict=True))
        for values in itertools.product(*per_question)
    ]


def combo_id(answers: Mapping[str, Any]) -> str:
    """``postgres-celery-domain``: the test id of a combination."""
    return "-".join(str(answers[question]) for question in MATRIX_QUESTIONS)


def combo_name(answers: Mapping[str, Any]) -> str:
    """``postgres/celery/domain``: how ``--combination`` and the CI matrix name it."""
    return "/".join(str(answers[question]) for question in MATRIX_QUESTIONS)


def parse_combo_name(name: str) -> dict[str, str]:
    """The answers ``combo_name`` gave ``name``; ValueError naming the choices when unknown."""
    for combo in combinations():
        if combo_name(combo) == name.strip():
            return combo
    offered = ", ".join(combo_name(combo) for combo in combinations())
    raise ValueError(f"unknown combination {name!r}: choose one of {offered}")


def github_matrix() -> dict[str, list[str]]:
    return {"combination": [combo_name(combo) for combo in combinations()]}


if __name__ == "__main__":
    print(json.dumps(github_matrix()))
