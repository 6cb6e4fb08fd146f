"""Parse every Bicep file of the deployment template (infra/) with pycep-parser: `make lint` runs it, and the tests
read the template through `parse` to compare it with the code.

    .venv/bin/python tools/bicep.py          # one line per file that does not parse; exit 1 if any

The Bicep CLI and azd cannot be installed on this project's machines (neither is on PyPI, Debian or npm), so this is
a syntax check by an independent grammar, not `bicep build`: it proves that the files parse and lets the tests read
them, not that Azure accepts every property.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"


def bicep_files(folder: Path = INFRA) -> list[Path]:
    return sorted(folder.rglob("*.bicep"))


def parse(path: Path) -> dict[str, Any]:
    """The file as pycep-parser's JSON: parameters, variables, resources, modules, outputs. A reference to a
    parameter or variable and a string literal of the same text come out alike (`p` and `'p'` are both "p")."""
    from pycep import BicepParser

    try:
        return dict(BicepParser().parse(file_path=path))
    except Exception as error:  # lark's errors have no common base the caller could name
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {first}") from None


def main(argv: list[str] | None = None) -> int:
    folder = Path(argv[0]) if argv else INFRA
    files = bicep_files(folder)
    failed = 0
    for path in files:
        try:
            parse(path)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            failed += 1
    if not files:
        print(f"error: no .bicep file under {folder}", file=sys.stderr)
        return 1
    print(f"bicep: {len(files) - failed} of {len(files)} files parse")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
