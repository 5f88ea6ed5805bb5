"""Render time per database x queue x layout combination, and optionally generated-suite times.

    uv run python benchmarks/render_times.py                  # render times (best of --repeat)
    uv run python benchmarks/render_times.py --generated      # + uv sync/ruff/mypy/pytest times
    uv run python benchmarks/render_times.py --generated --only postgres-background_tasks-layered

Reuses the helpers of the template's own suite (tests/conftest.py, tests/_services.py), so it
renders the working tree exactly as the tests do and gets servers the same way (TEST_* variables
or servers started here).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _services import Services, ServiceUnavailable
from conftest import (
    GENERATED_CHECKS,
    combinations,
    combo_id,
    find_python,
    refused_by_design,
    render,
    required_python,
    run_generated_project,
    template_source,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="renders per combination (best is shown)"
    )
    parser.add_argument(
        "--generated", action="store_true", help="also time each generated project's checks"
    )
    parser.add_argument(
        "--only",
        nargs="*",
        default=[],
        metavar="COMBO",
        help="e.g. postgres-background_tasks-domain",
    )
    parser.add_argument("--keep", action="store_true", help="keep the rendered projects")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

    workdir = Path(tempfile.mkdtemp(prefix="render-times-"))
    source = template_source(workdir)
    (workdir / "services").mkdir()
    (workdir / "shared").mkdir()
    services = Services(workdir / "services", workdir / "shared", os.environ)
    check_names = ["uv sync", *(name for name, _, _ in GENERATED_CHECKS)]
    header = f"{'combination':<40} {'render s':>9}"
    if args.generated:
        header += "".join(f" {name:>12}" for name in check_names) + f" {'result':>8}"
    print(header)
    failures = 0
    try:
        for combo in combinations():
            name = combo_id(combo)
            if args.only and name not in args.only:
                continue
            best: float | None = None
            project: Path | None = None
            refusal = None
            for attempt in range(max(1, args.repeat)):
                dst = workdir / f"{name}-{attempt}"
                started = time.perf_counter()
                try:
                    render(source, dst, combo)
                except Exception as error:
                    refusal = refused_by_design(combo, error)
                    if refusal is None:
                        raise
                    break
                elapsed = time.perf_counter() - started
                best = elapsed if best is None else min(best, elapsed)
                project = dst
            if refusal is not None or project is None or best is None:
                print(f"{name:<40} {'refused':>9}  ({refusal.question if refusal else '?'})")
                continue
            line = f"{name:<40} {best:>9.2f}"
            if args.generated:
                try:
                    env = services.env_for(combo)
                except ServiceUnavailable as error:
                    print(f"{line}  {error}")
                    failures += 1
                    continue
                minimum = required_python(project)
                python = find_python(minimum)
                if python is None:
                    print(f"{line}  no Python >= {minimum} interpreter (set GENERATED_PYTHON)")
                    failures += 1
                    continue
                run = run_generated_project(project, python, env)
                timings = run.timings
                ok = all(step.ok for step in run.steps)
                failures += not ok
                line += "".join(
                    f" {timings.get(step, float('nan')):>12.1f}" for step in check_names
                )
                failed = ",".join(step.name for step in run.steps if not step.ok)
                line += f" {'ok' if ok else 'FAILED:' + failed:>8}"
            print(line, flush=True)
    finally:
        services.close()
        if args.keep:
            print(f"projects kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
