"""Interpreters that run only inside a Debian root: ``python3.14`` from Debian unstable.

No machine of this kind has Python 3.14, and uv may not download one (registries only). Debian's
unstable suite has it: ``.ci/run`` makes a root of that suite with ``debootstrap`` in
``/var/cache/copier-fastapi/sid`` (``COPIER_FASTAPI_ROOTS`` moves it), once, and marks it with
the file ``copier-fastapi-root``. Its interpreter needs the root's own C library, so a generated
project's commands run inside it with ``chroot``, in a private mount namespace (``unshare``)
where the project, its temporary directory, the uv cache and binary, the machine's CA bundle and
any server socket directory are bind-mounted at the same paths. The network namespace is the
machine's: servers started outside are reached at 127.0.0.1 as usual. Nothing is mounted
outside that namespace; the root itself is never changed by a run. Needs root (chroot, mount).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

MARKER = "copier-fastapi-root"
HOW_TO_GET = {
    "3.14": (
        "`pyenv install 3.14` or python3.14 on PATH, or as root `bash .ci/run` once (it builds a "
        "Debian unstable root with python3.14 in /var/cache/copier-fastapi/sid; tests run as root)"
    ),
}
# What a root's interpreter needs from the machine, besides the paths of the run itself.
_SYSTEM_BINDS = ("/dev", "/proc", "/sys")


def roots_dir() -> Path:
    return Path(os.environ.get("COPIER_FASTAPI_ROOTS", "/var/cache/copier-fastapi"))


def root_pythons(minor: str) -> list[Path]:
    """``python<minor>`` of every finished root (marked), e.g. ``.../sid/usr/bin/python3.14``."""
    if os.geteuid() != 0:  # chroot and mount need root
        return []
    found = []
    for marker in sorted(roots_dir().glob(f"*/{MARKER}")):
        python = marker.parent / "usr" / "bin" / f"python{minor}"
        if python.exists():
            found.append(python)
    return found


def root_of(python: str | Path) -> Path | None:
    """The root an interpreter lives in, or ``None`` for one that runs on this machine."""
    for parent in Path(python).parents:
        if (parent / MARKER).is_file():
            return parent
    return None


def inside(root: Path, path: str | Path) -> str:
    """A path below ``root`` as the root's own processes see it."""
    return "/" + Path(path).relative_to(root).as_posix()


def socket_dirs(env: Mapping[str, str]) -> list[Path]:
    """Directories named by ``host=/...`` in the environment's URLs (pgserver's unix socket)."""
    found = []
    for value in env.values():
        for match in re.finditer(r"host=(/[^&\s]+)", value):
            path = Path(match.group(1))
            if path.is_dir():
                found.append(path)
    return found


def ca_bundle(env: Mapping[str, str]) -> Path | None:
    """The machine's CA bundle: uv inside the root trusts what uv outside trusts."""
    for candidate in (env.get("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def in_root(
    root: Path, command: Sequence[str], *, cwd: Path, binds: Iterable[str | Path]
) -> list[str]:
    """``command`` run in ``cwd`` inside ``root``, with ``binds`` mounted at the same paths."""
    lines = ["set -e"]
    for host in [*_SYSTEM_BINDS, *map(str, binds)]:
        target = shlex.quote(str(root) + str(Path(host).resolve()))
        source = shlex.quote(str(Path(host).resolve()))
        if Path(host).is_dir():
            lines.append(f"mkdir -p {target}")
            lines.append(f"mount --rbind {source} {target}")
        else:  # a file: mount over an empty one
            lines.append(f"mkdir -p $(dirname {target}) && touch {target}")
            lines.append(f"mount --bind {source} {target}")
    inner = f"cd {shlex.quote(str(cwd))} && exec {shlex.join(command)}"
    lines.append(
        f"exec chroot {shlex.quote(str(root))} /usr/bin/env "
        f"PATH=/usr/local/bin:/usr/bin:/bin /bin/sh -c {shlex.quote(inner)}"
    )
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-c",
        "\n".join(lines),
    ]


def interpreter_version(argv: list[str]) -> tuple[int, int] | None:
    """``(3, 14)`` for the interpreter that ``argv`` starts (a path, or ``chroot`` and one),
    else ``None``."""
    try:
        out = subprocess.run(
            [*argv, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    return int(out[0]), int(out[1])


def python_version(python: Path) -> tuple[int, int] | None:
    """``(3, 14)`` for a root's interpreter that starts, else ``None``."""
    root = root_of(python)
    if root is None:
        return None
    return interpreter_version(["chroot", str(root), inside(root, python)])
