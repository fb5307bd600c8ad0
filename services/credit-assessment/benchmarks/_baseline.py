"""What both credit-assessment benchmarks share: each measurement runs in a process of its own
(this script again, `--inner`) with the measured code first on the path, so a baseline git ref
is measured in the same run, on the same machine at the same moment, as this checkout."""

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

REPOSITORY = Path(__file__).resolve().parents[3]


def sources_of(ref: str, into: Path) -> list[Path]:
    """The `src` directories of every library and service at `ref`."""
    archive = into / "ref.tar"
    with archive.open("wb") as out:
        subprocess.run(
            ["git", "-C", str(REPOSITORY), "archive", ref, "libs", "services"],
            stdout=out,
            check=True,
        )
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return sorted([*into.glob("libs/*/src"), *into.glob("services/*/src")])


def path_env(sources: Sequence[Path]) -> dict[str, str]:
    env = dict(os.environ)
    if sources:
        env["PYTHONPATH"] = os.pathsep.join(str(s) for s in sources)
    return env


def run_inner(script: str, arguments: list[str], sources: Sequence[Path]) -> dict[str, Any]:
    """Run `script --inner ...` with `sources` first on the path; its last line is JSON."""
    output = subprocess.run(
        [sys.executable, script, "--inner", *arguments],
        env=path_env(sources),
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])  # type: ignore[no-any-return]


def compare(
    script: str,
    arguments: list[str],
    baseline: str,
    show: Callable[[str, dict[str, Any]], None],
    keys: Sequence[str],
) -> None:
    """Measure this checkout and `baseline` (if any) in the order A B B A, print each's mean
    figures and their ratios. The first measurement of a run is the slowest (a cold broker and
    database), so one of each in a fixed order would favour whichever goes second."""
    if not baseline:
        show("this checkout", run_inner(script, arguments, []))
        return
    label = f"baseline {baseline}"
    runs: dict[str, list[dict[str, Any]]] = {"this checkout": [], label: []}
    with tempfile.TemporaryDirectory(prefix="credit-bench-") as scratch:
        sources = {"this checkout": [], label: sources_of(baseline, Path(scratch))}
        for name in ("this checkout", label, label, "this checkout"):
            runs[name].append(run_inner(script, arguments, sources[name]))
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
