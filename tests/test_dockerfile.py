"""The rendered Dockerfile, read instruction by instruction: the image runs as a non-root user
and its final stage holds no build tools, in every combination of answers."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import Renderer, refused_by_design

# Programs that build or install software: none belongs in the image that runs the service.
BUILD_TOOLS = re.compile(
    r"(?<![\w-])(apt-get|apt|apk|dnf|yum|pip|pip3|uv|uvx|poetry|gcc|g\+\+|cc|make|cmake"
    r"|build-essential|git|curl|wget)(?![\w-])"
)
ROOT_USERS = {"root", "0"}


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def arguments(self, instruction: str) -> list[str]:
        return [argument for name, argument in self.instructions if name == instruction]


def parse_stages(dockerfile: str) -> list[Stage]:
    """Stages in order, each with its instructions (continuations joined, comments dropped)."""
    logical: list[str] = []
    current = ""
    for line in dockerfile.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    assert not current, "a line continuation runs off the end of the Dockerfile"

    stages: list[Stage] = []
    for instruction in logical:
        name, _, argument = instruction.partition(" ")
        name = name.upper()
        if name == "FROM":
            parts = argument.split()
            parts = [part for part in parts if not part.startswith("--")]
            alias = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(parts[0], alias))
        elif stages:
            stages[-1].instructions.append((name, argument.strip()))
    return stages


def final_stage(project: Path) -> tuple[list[Stage], Stage]:
    stages = parse_stages((project / "Dockerfile").read_text(encoding="utf-8"))
    assert len(stages) >= 2, "the Dockerfile is not multi-stage"
    return stages, stages[-1]


def render_or_skip(render_project: Renderer, combo: dict[str, str]) -> Path:
    try:
        return render_project(combo)
    except Exception as error:
        refusal = refused_by_design(combo, error)
        if refusal is None:
            raise
        pytest.skip(f"refused by copier.yml: {refusal.message}")


def test_the_image_runs_as_non_root_without_build_tools(
    combo: dict[str, str], render_project: Renderer
) -> None:
    project = render_or_skip(render_project, combo)
    check_non_root(project)
    check_no_build_tools(project)


def check_non_root(project: Path) -> None:
    _, final = final_stage(project)

    users = final.arguments("USER")
    assert users, "the final stage never leaves root"
    user = users[-1].split(":")[0]
    assert user not in ROOT_USERS, f"the final stage runs as {users[-1]}"
    # Nothing runs as root after the switch, and the service starts after it.
    names = [name for name, _ in final.instructions]
    last_user = len(names) - 1 - names[::-1].index("USER")
    assert "RUN" not in names[last_user:], "RUN after USER: setup belongs before the switch"
    assert "CMD" in names[last_user:] or "ENTRYPOINT" in names[last_user:]
    # The files the service runs from are not writable by it: owned by root, or chowned to
    # the service user only where the copy says so on purpose (its own virtual environment).
    for argument in final.arguments("COPY"):
        chown = re.search(r"--chown=(\S+)", argument)
        if chown:
            assert chown.group(1).split(":")[0] not in ROOT_USERS


def check_no_build_tools(project: Path) -> None:
    stages, final = final_stage(project)
    builders = {stage.name for stage in stages[:-1] if stage.name}

    assert "uv" not in final.image and "astral" not in final.image, final.image
    assert final.image.split(":")[-1].endswith(("slim", "slim-bookworm", "slim-trixie")) or (
        "slim" in final.image
    ), f"the runtime base image is not slim: {final.image}"
    for command in final.arguments("RUN"):
        found = BUILD_TOOLS.search(command)
        assert found is None, f"the final stage runs {found.group(0) if found else ''}: {command}"
    for argument in final.arguments("COPY"):
        words = shlex.split(argument)
        source_stage = next(
            (word.split("=", 1)[1] for word in words if word.startswith("--from=")), None
        )
        if source_stage is None:
            continue
        assert source_stage in builders, f"COPY --from an image, not a stage: {argument}"
        sources = [word for word in words if not word.startswith("--")][:-1]
        # Only the built virtual environment comes over: no uv binary, no caches.
        assert sources == ["/app/.venv"], f"the final stage copies more than the venv: {argument}"
    for argument in final.arguments("ENV") + final.arguments("ARG"):
        assert not re.search(r"(SECRET|PASSWORD|TOKEN)\w*=", argument, re.I), argument
