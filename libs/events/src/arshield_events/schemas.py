"""JSON Schema of every event type (the CloudEvents envelope with that type's data).

`python -m arshield_events.schemas write [DIR]` regenerates `libs/events/schemas/<type>.json`;
`python -m arshield_events.schemas check [DIR]` exits 1 when a committed file differs from the
models.
This module is the library's only I/O.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from arshield_events.envelope import CloudEvent, Payload
from arshield_events.registry import EVENT_TYPES, LEGACY_EVENT_TYPES

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "schemas"
"""`libs/events/schemas` in a source checkout."""
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def all_event_types() -> Mapping[str, type[Payload]]:
    """Current and legacy event types, by type string."""
    return {**EVENT_TYPES, **LEGACY_EVENT_TYPES}


def event_schema(cls: type[Payload]) -> dict[str, Any]:
    """The JSON Schema of a CloudEvent carrying `cls` as its data."""
    schema = CloudEvent[cls].model_json_schema(mode="validation")  # type: ignore[valid-type]
    schema["properties"]["type"] = {"const": cls.event_name, "title": "Type", "type": "string"}
    current = EVENT_TYPES.get(cls.event_name) is cls
    note = "" if current else " (legacy version, upcast to the current one on read)"
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"urn:arshield:event:{cls.event_name}",
        **schema,
        "title": cls.event_name,
        "description": f"{cls.event_name} on topic {cls.topic}{note}. "
        + (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " "),
    }


def render(cls: type[Payload]) -> str:
    return json.dumps(event_schema(cls), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def rendered() -> dict[str, str]:
    """File name -> content for every event type."""
    return {f"{name}.json": render(cls) for name, cls in sorted(all_event_types().items())}


def export(directory: Path | str = DEFAULT_DIR) -> list[Path]:
    """Write one schema file per event type into `directory`, removing stale ones."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    files = rendered()
    for stale in target.glob("arshield.*.json"):
        if stale.name not in files:
            stale.unlink()
    written = []
    for name, content in files.items():
        path = target / name
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


def check(directory: Path | str = DEFAULT_DIR) -> list[str]:
    """Problems with the committed schemas in `directory`: missing, outdated or stale files."""
    target = Path(directory)
    files = rendered()
    problems = []
    for name, content in files.items():
        path = target / name
        if not path.exists():
            problems.append(f"missing: {name}")
        elif path.read_text(encoding="utf-8") != content:
            problems.append(f"differs from the models: {name}")
    problems.extend(
        f"no such event type: {path.name}"
        for path in sorted(target.glob("arshield.*.json"))
        if path.name not in files
    )
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m arshield_events.schemas", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", choices=["write", "check"])
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    if args.command == "write":
        written = export(args.directory)
        print(f"wrote {len(written)} schemas to {args.directory}")
        return 0
    problems = check(args.directory)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print("run: uv run python -m arshield_events.schemas write", file=sys.stderr)
        return 1
    print(f"{len(rendered())} schemas up to date in {args.directory}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
