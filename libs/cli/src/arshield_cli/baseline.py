"""A benchmark's baseline: the code of another git ref, measured in the same run as this checkout.

A benchmark runs its measuring part in a child interpreter twice, once on this checkout and once
with a ref's `libs/*/src` and `services/*/src` first on `PYTHONPATH`, so a ratio compares two codes
on the same machine at the same moment (a figure alone says little on a shared machine).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[4]


def baseline_sources(ref: str, into: Path) -> list[Path]:
    """The source folders of `ref`, extracted under `into`."""
    into.mkdir(parents=True, exist_ok=True)
    archive = into / "ref.tar"
    with archive.open("wb") as out:
        subprocess.run(  # noqa: S603 - git on this repository
            ["git", "-C", str(REPOSITORY), "archive", ref, "libs", "services"],  # noqa: S607
            stdout=out,
            check=True,
        )
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return sorted([*into.glob("libs/*/src"), *into.glob("services/*/src")])


def run_measure(script: str, args: list[str], sources: list[Path]) -> Any:
    """Run `script` with `args` in a child interpreter, the code of `sources` first on the path
    (none: this checkout's), and return the JSON document its last output line holds."""
    env = dict(os.environ)
    if sources:
        env["PYTHONPATH"] = os.pathsep.join(str(s) for s in sources)
    done = subprocess.run(  # noqa: S603 - this interpreter, a benchmark of this repository
        [sys.executable, script, *args],
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{Path(script).name} {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
