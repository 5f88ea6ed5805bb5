"""The rendered Dockerfile, read instruction by instruction: the image runs as a non-root user
and its final stage holds no build tools, in every combination of answers."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Mapping
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


# Reading what a stage leaves to its containers (tests/test_compose.py runs them too).

_DOCKER_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def env_instruction(argument: str, current: Mapping[str, str]) -> dict[str, str]:
    """The variables one ``ENV`` sets (``K=V K2="V 2"`` or the old ``K value``), with ``$VAR``
    of earlier ones substituted as Docker does."""

    def substitute(value: str) -> str:
        return _DOCKER_VARIABLE.sub(lambda m: current.get(m[1] or m[2], ""), value)

    words = shlex.split(argument)
    if "=" not in words[0]:
        return {words[0]: substitute(" ".join(words[1:]))}
    return {key: substitute(value) for key, _, value in (word.partition("=") for word in words)}


def stage_env(stage: Stage, base: Mapping[str, str]) -> dict[str, str]:
    environment = dict(base)
    for name, argument in stage.instructions:
        if name == "ENV":
            environment.update(env_instruction(argument, environment))
    return environment


def exec_form(argument: str) -> list[str]:
    """CMD/ENTRYPOINT/RUN/HEALTHCHECK CMD: a JSON array as is, shell form under ``/bin/sh -c``."""
    if argument.startswith("["):
        words: list[str] = json.loads(argument)
        return words
    return ["/bin/sh", "-c", argument]


def healthcheck_test(argument: str) -> list[str]:
    """A HEALTHCHECK instruction as compose's ``test``: ``["CMD", ...]``, ``["CMD-SHELL", "..."]``
    or ``["NONE"]``."""
    if argument.strip().upper() == "NONE":
        return ["NONE"]
    command = argument.split("CMD ", 1)[1].strip()
    if command.startswith("["):
        return ["CMD", *json.loads(command)]
    return ["CMD-SHELL", command]


def last(stage: Stage, instruction: str) -> str | None:
    found = stage.arguments(instruction)
    return found[-1] if found else None


# The python base image's environment that the Dockerfile builds on: its PATH (here the
# host's, where sh, nproc and the interpreter live) and locale.
def base_image_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), "LANG": "C.UTF-8"}


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


# ---------------------------------------------------------------------------------------------
# How many uvicorn workers: one per container, or WEB_CONCURRENCY
# ---------------------------------------------------------------------------------------------

NODE_CPUS = "64"  # what nproc says on a big node, whatever the container's CPU limit


def fake_programs(directory: Path, *names: str) -> None:
    """``nproc`` that answers NODE_CPUS, and programs that print their arguments and exit."""
    directory.mkdir(parents=True, exist_ok=True)
    scripts = {"nproc": f"#!/bin/sh\necho {NODE_CPUS}\n"}
    scripts.update({name: '#!/bin/sh\necho "$0 $*"\n' for name in names})
    for name, script in scripts.items():
        path = directory / name
        path.write_text(script, encoding="utf-8")
        path.chmod(0o755)


def workers(command_line: str) -> str:
    match = re.search(r"--workers[ =](\S+)", command_line)
    assert match, f"no --workers in: {command_line}"
    return match.group(1)


@pytest.mark.parametrize("web_concurrency", [None, "3"])
def test_the_image_runs_one_worker_unless_web_concurrency_says_more(
    render_project: Renderer, tmp_path: Path, web_concurrency: str | None
) -> None:
    """The image's CMD, run by sh with the image's ENV on a node of many CPUs (the container
    may use few of them): one worker, or what `docker run -e WEB_CONCURRENCY=3` asks for."""
    project = render_project({})
    _, final = final_stage(project)
    command = exec_form(last(final, "CMD") or "[]")
    app = tmp_path / "app"  # /app, where the image's virtual environment and uvicorn live
    fake_programs(app / ".venv" / "bin", "uvicorn")
    env = {
        key: value.replace("/app/", f"{app}/")
        for key, value in stage_env(final, base_image_env()).items()
    }
    if web_concurrency is not None:
        env["WEB_CONCURRENCY"] = web_concurrency
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    assert result.stdout.startswith(f"{app}/.venv/bin/uvicorn "), result.stdout
    assert workers(result.stdout) == (web_concurrency or "1")


@pytest.mark.parametrize("web_concurrency", [None, "3"])
def test_make_serve_runs_one_worker_unless_web_concurrency_says_more(
    render_project: Renderer, tmp_path: Path, web_concurrency: str | None
) -> None:
    """`make serve`, run by make on a host of many CPUs: one worker, or WEB_CONCURRENCY."""
    make = shutil.which("make")
    if make is None:
        pytest.fail("make is not installed: the generated Makefile needs it", pytrace=False)
    project = render_project({})
    bin_dir = tmp_path / "bin"
    fake_programs(bin_dir, "uv")
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    if web_concurrency is not None:
        env["WEB_CONCURRENCY"] = web_concurrency
    result = subprocess.run(
        [make, "--silent", "--no-print-directory", "serve"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"{bin_dir}/uv run uvicorn " in result.stdout, result.stdout
    assert workers(result.stdout) == (web_concurrency or "1")
