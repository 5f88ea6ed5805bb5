"""Migrations that `copier update` runs in a generated project (see `_migrations` in copier.yml).

Run by Copier with its own interpreter, in the project's root, after it rendered the new
release. Standard library and git only; no network: the old release is read from the template
clone Copier already made. Every command is idempotent, never loses the project's own content,
and exits 0 unless its arguments are wrong, so an update is never left half-applied.

    move-file  A file of the template got a new name. Copier writes the new file and deletes the
               old one, dropping the project's edits of it; this carries them over with a
               3-way merge (base: the old release's file, ours: the project's last committed
               version, theirs: the new release's file). Conflicts are written with Copier's
               markers and recorded in the index, so `git commit` refuses until they are
               resolved.
    settle-marker-conflicts
               A release added a marker line after which the project's own lines go (its
               dependencies in pyproject.toml). Projects made before it had appended theirs at
               that very place, so Copier reports a conflict between the marker and their lines
               although nothing clashes: put the project's lines below the marker. Only such
               conflicts are settled; any other is left for the user to resolve.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

# Copier's labels for its own 3-way merges: the project's side first, the template's last.
LABELS = ("before updating", "last update", "after updating")
CONFLICT_START = b"<<<<<<< " + LABELS[0].encode()


def say(message: str) -> None:
    print(f"copier-fastapi migration: {message}", file=sys.stderr)


def git(*args: str, cwd: Path | None = None, stdin: bytes | None = None) -> bytes | None:
    """Output of a git command, or ``None`` when it fails. Never fetches from a remote."""
    env = {**os.environ, "GIT_NO_LAZY_FETCH": "1", "GIT_TERMINAL_PROMPT": "0"}
    completed = subprocess.run(
        ["git", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        env=env,
        check=False,
    )
    return completed.stdout if completed.returncode == 0 else None


def old_template_file(template: Path, ref: str, subdirectory: str, relative: str) -> bytes | None:
    """The file as the old release rendered it; ``None`` if it is not a plain (non-Jinja) file."""
    place = "/".join(part for part in (subdirectory.strip("/"), relative) if part)
    return git("show", f"{ref}:{place}", cwd=template)


def record_conflict(path: str, base: bytes, ours: bytes, theirs: bytes, mode: int) -> None:
    """Mark ``path`` unmerged in the index, as Copier does for its own conflicts."""
    stages = []
    for stage, content in ((1, base), (2, ours), (3, theirs)):
        sha = git("hash-object", "-w", "--stdin", stdin=content)
        if sha is None:
            return
        stages.append(f"{mode:o} {sha.decode().strip()} {stage}\t{path}")
    git("update-index", "--index-info", stdin=("\n".join(stages) + "\n").encode())


def move_file(args: argparse.Namespace) -> int:
    old, new = args.old, args.new
    if git("rev-parse", "--is-inside-work-tree") is None:
        return 0  # not a git project: Copier does not update those
    ours = git("show", f"HEAD:{old}")
    if ours is None:
        return 0  # the project had no such file before this update
    if git("cat-file", "-e", f"HEAD:{new}") is not None:
        return 0  # the project already had the new name: Copier merged that one itself
    if Path(old).exists():
        return 0  # Copier kept the old file: it is the project's own, leave it alone
    base = old_template_file(Path(args.template), args.from_ref, args.subdirectory, old)
    if base == ours:
        return 0  # never edited: the new release's file is the whole answer
    target = Path(new)
    if base is None or not target.is_file():
        # Without the old release's file (or a new one) there is no 3-way merge: keep the
        # project's version under its old name rather than lose it.
        Path(old).parent.mkdir(parents=True, exist_ok=True)
        Path(old).write_bytes(ours)
        say(
            f"{old} was renamed to {new} by the template, but your edited version could not be "
            f"merged automatically; it is kept as {old}: move your edits into {new}, then delete it"
        )
        return 0
    theirs = target.read_bytes()
    if CONFLICT_START in theirs:
        return 0  # merged by an earlier run, conflicts still waiting to be resolved
    mode = target.stat().st_mode & 0o777
    with tempfile.TemporaryDirectory(prefix="copier-fastapi-") as scratch:
        base_file, theirs_file = Path(scratch, "base"), Path(scratch, "theirs")
        base_file.write_bytes(base)
        theirs_file.write_bytes(theirs)
        target.write_bytes(ours)
        labels = [arg for label in LABELS for arg in ("-L", label)]
        merge = subprocess.run(
            ["git", "merge-file", *labels, "--", str(target), str(base_file), str(theirs_file)],
            capture_output=True,
            check=False,
        )
    target.chmod(mode)
    if merge.returncode < 0 or merge.returncode > 127:
        target.write_bytes(theirs)
        Path(old).write_bytes(ours)
        say(f"could not merge {old} into {new}; your version is kept as {old}: merge it by hand")
        return 0
    if merge.returncode > 0:
        record_conflict(new, base, ours, theirs, 0o100755 if mode & 0o111 else 0o100644)
        say(f"{old} is now {new}; your edits conflict with the template's: resolve them in {new}")
    else:
        say(f"{old} is now {new}; your edits of it were carried over")
    return 0


def settle_marker_conflicts(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        return 0
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    marker = args.marker

    def bare(line: str) -> str:
        return line.rstrip("\r\n")

    settled: list[str] = []
    changed = False
    i = 0
    while i < len(lines):
        if bare(lines[i]) != f"<<<<<<< {LABELS[0]}":
            settled.append(lines[i])
            i += 1
            continue
        try:
            middle = next(j for j in range(i + 1, len(lines)) if bare(lines[j]) == "=======")
            end = next(
                j for j in range(middle + 1, len(lines)) if bare(lines[j]) == f">>>>>>> {LABELS[2]}"
            )
        except StopIteration:
            settled.extend(lines[i:])
            break
        ours, theirs = lines[i + 1 : middle], lines[middle + 1 : end]
        if [bare(line) for line in theirs] == [marker]:
            # The template inserted only the marker where the project had appended its lines.
            settled.extend([*theirs, *ours])
            changed = True
        elif not theirs and settled and bare(settled[-1]) == marker:
            settled.extend(ours)
            changed = True
        else:
            settled.extend(lines[i : end + 1])
        i = end + 1
    if not changed:
        return 0
    path.write_text("".join(settled), encoding="utf-8")
    text = "".join(settled)
    if f"<<<<<<< {LABELS[0]}" not in text and git("ls-files", "--unmerged", "--", args.file):
        git("reset", "--quiet", "--", args.file)  # no longer unmerged: back to a plain change
    say(f"{args.file}: your own lines now follow the line {marker.strip()!r}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    move = commands.add_parser("move-file", help="carry a renamed file's edits over")
    move.add_argument("--template", required=True, help="the template clone Copier made")
    move.add_argument("--from-ref", required=True, help="the release being updated from")
    move.add_argument("--subdirectory", default="template", help="the template's _subdirectory")
    move.add_argument("--old", required=True, help="the file's old path in the project")
    move.add_argument("--new", required=True, help="the file's new path in the project")
    settle = commands.add_parser(
        "settle-marker-conflicts", help="put the project's lines below a new marker line"
    )
    settle.add_argument("--file", required=True, help="the project file")
    settle.add_argument("--marker", required=True, help="the exact marker line")
    args = parser.parse_args(argv)
    if args.command == "move-file":
        return move_file(args)
    if args.command == "settle-marker-conflicts":
        return settle_marker_conflicts(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
