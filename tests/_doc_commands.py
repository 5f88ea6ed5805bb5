"""The shell commands the documentation tells users to run, read from the documents themselves.

A documented command is

* a line of a fenced ``sh`` (or ``bash``, ``shell``, ``console``) block: blank lines and lines
  that start with ``#`` are left out, a line ending in ``\\`` continues on the next one, and a
  command's own trailing ``# comment`` stays (the shell ignores it, so running the line as
  written is running the command);
* a backticked command in the ``command`` column of a Markdown table (the generated README's
  "Everyday commands": the README tells users to run them as much as a block would). Inline
  code in running prose is not a command: it names one that a block or table gives.

Every command is run by a test exactly as written, or marked in the document as not runnable
here, with the closest real test. A marker is an HTML comment, on the line right before a
fenced block (it covers every command of the block) or inside a table row (that row's command):

``<!-- run-by: tests/test_journeys.py::test_readme_render_then_update -->``
    The named test takes the commands from this document (``commands_of``) and runs them
    as written. ``run-by: .ci/run`` means CI's script contains each command verbatim.
``<!-- not-run-here: <why>; covered by <target> -->``
    Not runnable by the suite (no Docker daemon, runs until stopped, minutes of load ...);
    ``<target>`` is the closest real test: ``tests/<file>.py::<test>`` (the template's),
    ``generated tests/<file>.py::<test>`` (a generated project's own) or ``.ci/run``.

A command without a marker is run by ``tests/test_generated_suite.py``: in the generated
README, as the checks of one rendered project per database, with real servers; anywhere else
an unmarked command is an error (the template's documents run in places only a journey test
can set up).
Adding a command to a document is therefore one line in the document (a marker) or nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

SHELL_FENCES = frozenset({"sh", "bash", "shell", "console"})
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<info>[\w+-]*)")
_MARKER = re.compile(r"<!--\s*(?P<kind>run-by|not-run-here):\s*(?P<body>.*?)\s*-->", re.S)
_TARGET = re.compile(r"(?P<target>(?:generated )?tests/[\w/.-]+\.py::[\w\[\]-]+|\.ci/run)\s*$")
_INLINE_CODE = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Marker:
    kind: str  # "run-by" or "not-run-here"
    reason: str  # why it cannot run here ("" for run-by)
    target: str  # tests/x.py::test_y, "generated tests/x.py::test_y" or .ci/run

    @classmethod
    def parse(cls, kind: str, body: str, where: str) -> Marker:
        body = " ".join(body.split())
        if kind == "run-by":
            reason, target = "", body
        else:
            reason, sep, target = body.rpartition("; covered by ")
            if not sep:
                raise ValueError(f"{where}: not-run-here needs '<why>; covered by <test>': {body}")
        if not _TARGET.fullmatch(target):
            raise ValueError(f"{where}: marker target is not a test or .ci/run: {target!r}")
        return cls(kind, reason, target)


@dataclass(frozen=True)
class DocCommand:
    source: str  # the document, e.g. README.md or "generated README.md (postgres-...)"
    line: int  # 1-based line of the command's first line
    text: str  # the command exactly as written
    marker: Marker | None

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.text}"


def _block_commands(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(offset, command) of a shell block's lines, continuations joined as written."""
    pending: list[str] = []
    start = 0
    for offset, line in enumerate(lines):
        stripped = line.strip()
        if not pending:
            if not stripped or stripped.startswith("#"):
                continue
            start = offset
        pending.append(stripped)
        if stripped.endswith("\\"):
            continue
        yield start, "\n".join(pending)
        pending = []
    if pending:
        yield start, "\n".join(pending)


def _table_command_column(header: str) -> int | None:
    cells = [cell.strip().lower() for cell in header.strip().strip("|").split("|")]
    return cells.index("command") if "command" in cells else None


def _marker_in(text: str, where: str) -> Marker | None:
    found = _MARKER.search(text)
    return None if found is None else Marker.parse(found["kind"], found["body"], where)


def extract(text: str, source: str) -> list[DocCommand]:
    """Every documented command of one Markdown document, in order."""
    lines = text.splitlines()
    commands: list[DocCommand] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if fence:
            closing = fence["fence"]
            end = index + 1
            while end < len(lines) and not lines[end].strip().startswith(closing):
                end += 1
            if fence["info"].lower() in SHELL_FENCES:
                previous = next(
                    (lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), ""
                )
                marker = _marker_in(previous, f"{source}:{index}")
                for offset, command in _block_commands(lines[index + 1 : end]):
                    commands.append(DocCommand(source, index + 2 + offset, command, marker))
            index = end + 1
            continue
        column = _table_command_column(line) if line.lstrip().startswith("|") else None
        if column is not None:
            index += 2  # header and separator
            while index < len(lines) and lines[index].lstrip().startswith("|"):
                row = lines[index]
                cells = row.strip().strip("|").split("|")
                if column < len(cells):
                    for code in _INLINE_CODE.findall(_MARKER.sub("", cells[column])):
                        marker = _marker_in(row, f"{source}:{index + 1}")
                        commands.append(DocCommand(source, index + 1, code, marker))
                index += 1
            continue
        index += 1
    return commands


def extract_file(path: Path, source: str) -> list[DocCommand]:
    return extract(path.read_text(encoding="utf-8"), source)


def commands_of(commands: Iterable[DocCommand], target: str) -> list[DocCommand]:
    """The commands whose marker names ``target`` (a test runs them from the document)."""
    return [c for c in commands if c.marker is not None and c.marker.target == target]


def command_starting(commands: Iterable[DocCommand], prefix: str) -> str:
    """The one documented command that starts with ``prefix``, as written."""
    found = sorted({c.text for c in commands if c.text.startswith(prefix)})
    if len(found) != 1:
        raise LookupError(f"{len(found)} documented commands start with {prefix!r}: {found}")
    return found[0]
