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
import tempfile
from collections.abc import Callable, Sequence
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


def compare(
    script: str,
    arguments: list[str],
    baseline: str,
    show: Callable[[str, dict[str, Any]], None],
    keys: Sequence[str],
) -> None:
    """Measure this checkout and `baseline` (if any) with `script --inner arguments`, in the order
    A B B A, print each's mean figures and their ratios. The first measurement of a run is the
    slowest (a cold broker and database), so one of each in a fixed order would favour whichever
    goes second."""
    inner = ["--inner", *arguments]
    if not baseline:
        show("this checkout", run_measure(script, inner, []))
        return
    label = f"baseline {baseline}"
    runs: dict[str, list[dict[str, Any]]] = {"this checkout": [], label: []}
    with tempfile.TemporaryDirectory(prefix="arshield-baseline-") as scratch:
        sources = {"this checkout": [], label: baseline_sources(baseline, Path(scratch))}
        for name in ("this checkout", label, label, "this checkout"):
            runs[name].append(run_measure(script, inner, sources[name]))
    means = {
        name: {k: sum(r.get(k, 0) for r in measured) / len(measured) for k in measured[0]}
        for name, measured in runs.items()
    }
    for name, figures in means.items():
        show(f"{name} (mean of {len(runs[name])})", figures)
    mine, theirs = means["this checkout"], means[label]
    ratios = ", ".join(
        f"{k} {mine[k] / theirs[k]:.2f}x" for k in keys if theirs.get(k) and k in mine
    )
    print(f"this checkout / {label}: {ratios} (below 1 is better)")
