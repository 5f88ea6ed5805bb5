"""Bad answers are refused before anything is rendered, with a message naming the question."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import TemplateSource, assert_refusal, refusal_of, render

BAD_ANSWERS = [
    # (question, answer, words the message must contain)
    ("package_name", "fastapi", ["'fastapi'", "shadow"]),
    ("package_name", "class", ["'class'", "keyword"]),
    ("package_name", "json", ["'json'", "standard library"]),
    ("package_name", "1abc", ["'1abc'", "identifier"]),
    ("package_name", "My-Pkg", ["'My-Pkg'", "identifier"]),
    ("package_name", "", ["identifier"]),
    ("author_email", "nope", ['"nope"', "e-mail"]),
    ("author_email", "a b@example.com", ["e-mail"]),
    ("project_slug", "Bad Slug", ['"Bad Slug"', "lowercase"]),
    ("project_slug", "trailing-", ['"trailing-"', "lowercase"]),
    ("project_name", "", ["empty"]),
    ("project_name", "   ", ["empty"]),
]


@pytest.mark.parametrize(
    ("question", "answer", "words"),
    BAD_ANSWERS,
    ids=[f"{question}={answer!r}" for question, answer, _ in BAD_ANSWERS],
)
def test_bad_answer_is_refused(
    template_src: TemplateSource, tmp_path: Path, question: str, answer: str, words: list[str]
) -> None:
    with pytest.raises(ValueError) as caught:
        render(template_src, tmp_path / "out", {question: answer}, pretend=True)
    assert_refusal(caught.value, question, words)


DERIVED = [
    # A project name whose derived default package name (or slug) is invalid: defaults are
    # validated too, so --defaults cannot render an unimportable package.
    ({"project_name": "class"}, "package_name"),
    ({"project_name": "JSON"}, "package_name"),
    ({"project_name": "FastAPI"}, "package_name"),
    ({"project_name": "42 Things"}, "project_slug"),
    ({"project_name": "!!!"}, "project_slug"),
]


@pytest.mark.parametrize(
    ("answers", "question"), DERIVED, ids=[a["project_name"] for a, _ in DERIVED]
)
def test_bad_derived_default_is_refused(
    template_src: TemplateSource, tmp_path: Path, answers: dict[str, str], question: str
) -> None:
    with pytest.raises(ValueError) as caught:
        render(template_src, tmp_path / "out", answers, pretend=True)
    refusal = refusal_of(caught.value)
    assert refusal is not None and refusal.question == question, str(caught.value)


GOOD_ANSWERS = [
    {"package_name": "shop"},
    {"package_name": "_private_pkg"},
    {"project_slug": "a1"},
    {
        "project_name": "Ünïcode Shop",
        "project_slug": "unicode-shop",
        "package_name": "unicode_shop",
    },
    {"author_email": "team+api@sub.example.org"},
]


@pytest.mark.parametrize("answers", GOOD_ANSWERS, ids=[str(a) for a in GOOD_ANSWERS])
def test_good_answers_are_accepted(
    template_src: TemplateSource, tmp_path: Path, answers: dict[str, str]
) -> None:
    render(template_src, tmp_path / "out", answers, pretend=True)


@pytest.mark.parametrize("question", ["database", "queue", "layout", "python_version"])
def test_answer_outside_choices_is_refused(
    template_src: TemplateSource, tmp_path: Path, question: str
) -> None:
    with pytest.raises(ValueError, match=f"Invalid choice for '{question}'"):
        render(template_src, tmp_path / "out", {question: "nonsense"}, pretend=True)
