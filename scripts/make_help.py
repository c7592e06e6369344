"""`make help`: the make targets as README.md's "Everyday commands" table lists them, one line each.

The table is the one list of targets (tests/test_docs.py keeps it in step with the Makefile), so help reads it.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def targets(readme: str) -> list[tuple[str, str]]:
    """(make command, what it does: its first clause) for each row of the Everyday commands table."""
    section = readme.partition("## Everyday commands")[2].partition("\n## ")[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) == 3 and cells[0].startswith("`make"):
            command = cells[0].replace("`", "")
            what = re.split(r"; |\. | \(see ", cells[2].replace("`", ""))[0]
            rows.append((command, what))
    return rows


def main() -> int:
    rows = targets(README.read_text())
    width = max(len(command) for command, _ in rows) + 2
    columns = shutil.get_terminal_size((120, 24)).columns
    for command, what in rows:
        line = f"  {command:<{width}}{what}"
        print(line if len(line) <= columns else line[: columns - 1] + "…")
    print("Flags after make are name=value (force=1, env=staging, ...); `acams-db COMMAND --help` for each command.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
