"""Fail when line coverage of the code, or of a package that must be well tested, is below its floor.

`just test` runs this on the output of `coverage json` after the whole suite (the service
processes the e2e tests start included). A floor names files by path prefix, relative to the
repository root; a floor that matches no measured file is an error too, so a moved package
cannot silently lose its floor.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Floor:
    """At least `percent` % of the statements of the files under `prefixes` ran."""

    name: str
    prefixes: tuple[str, ...]
    percent: float


FLOORS: tuple[Floor, ...] = (
    Floor("everything", ("",), 85.0),
    Floor("libs/engines", ("libs/engines/",), 95.0),
    Floor("libs/storage", ("libs/storage/",), 95.0),
    Floor(
        "services/executor backup.py",
        ("services/executor/src/lifeboat/executor/backup.py",),
        95.0,
    ),
    Floor(
        "services/executor restore.py",
        ("services/executor/src/lifeboat/executor/restore.py",),
        95.0,
    ),
)


@dataclass(frozen=True)
class Measured:
    """Statements and covered statements of the files a floor names."""

    files: int
    statements: int
    covered: int

    @property
    def percent(self) -> float:
        """Covered share in percent (100 when there is nothing to cover)."""
        return 100.0 if self.statements == 0 else 100.0 * self.covered / self.statements


def measure(report: dict[str, Any], prefixes: tuple[str, ...]) -> Measured:
    """Sum the statement counts of the files of `report` (coverage json) under `prefixes`."""
    files = statements = covered = 0
    entries: dict[str, Any] = report["files"]
    for path, entry in entries.items():
        if not any(path.startswith(prefix) for prefix in prefixes):
            continue
        summary: dict[str, int] = entry["summary"]
        files += 1
        statements += summary["num_statements"]
        covered += summary["covered_lines"]
    return Measured(files, statements, covered)


def check(report: dict[str, Any], floors: tuple[Floor, ...] = FLOORS) -> list[str]:
    """One line per floor (its measured coverage); lines of failed floors start with `BELOW`."""
    lines: list[str] = []
    for floor in floors:
        got = measure(report, floor.prefixes)
        if got.files == 0:
            lines.append(f"BELOW {floor.name}: no measured file matches {floor.prefixes}")
        elif got.percent < floor.percent:
            lines.append(
                f"BELOW {floor.name}: {got.percent:.1f} % of {got.statements} statements "
                f"covered, the floor is {floor.percent:g} %"
            )
        else:
            lines.append(f"ok    {floor.name}: {got.percent:.1f} % (floor {floor.percent:g} %)")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Print every floor's coverage; exit 1 when one is not met."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("report", type=Path, help="the file `coverage json` wrote")
    args = parser.parse_args(argv)
    report: dict[str, Any] = json.loads(args.report.read_text())
    lines = check(report)
    print("\n".join(lines))
    failed = [line for line in lines if line.startswith("BELOW")]
    if failed:
        print(
            f"coverage below its floor in {len(failed)} place(s): write tests for what is "
            "missing (`coverage report -m` lists the lines)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
