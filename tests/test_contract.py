"""engine/contract.json is the one place where the names Python and Node share are spelled."""

from __future__ import annotations

import json
import re
from pathlib import Path

from acams_db import contract
from tests.support import REPOSITORY

CONTRACT = REPOSITORY / "engine" / "contract.json"
READERS = {REPOSITORY / "acams_db" / "contract.py", REPOSITORY / "engine" / "lib" / "contract.mjs"}


def shared_names() -> dict[str, str]:
    return {key: value for key, value in json.loads(CONTRACT.read_text()).items() if not key.startswith("$")}


def sources() -> list[Path]:
    python = sorted((REPOSITORY / "acams_db").rglob("*.py"))
    node = sorted(path for path in (REPOSITORY / "engine").rglob("*.mjs") if "node_modules" not in path.parts)
    return [path for path in [*python, *node, REPOSITORY / "prisma.config.ts"] if path not in READERS]


# The same words for another thing: the generated client's own copy of the schema (Prisma Client Python's name).
UNRELATED = {("acams_db/operations/generate.py", 'package / "schema.prisma"')}


def spelled_by_hand(value: str) -> re.Pattern[str]:
    """The value as a whole string literal ('x', "x", `x`) that is not a mapping's key, or a variable read as a
    property (env.ACAMS_ENV)."""
    quoted = rf"(['\"`]){re.escape(value)}\1(?!\s*:)"
    return re.compile(quoted + (rf"|\.{re.escape(value)}\b" if re.fullmatch(r"[A-Z][A-Z0-9_]+", value) else ""))


def code_lines(path: Path) -> list[tuple[int, str]]:
    """The lines of `path` that are not comments alone (comments may name what they explain)."""
    comment = ("#",) if path.suffix == ".py" else ("//", "*", "/*")
    return [
        (number, line)
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if not line.strip().startswith(comment)
    ]


def test_no_source_spells_a_shared_name_by_hand() -> None:
    found = [
        f"{path.relative_to(REPOSITORY)}:{number}: {key} = {value!r}: {line.strip()}"
        for key, value in shared_names().items()
        for path in sources()
        for number, line in code_lines(path)
        if spelled_by_hand(value).search(line if path.suffix != ".py" else line.replace("`", ""))
        and not any(str(path.relative_to(REPOSITORY)) == file and text in line for file, text in UNRELATED)
    ]
    assert not found, "\n".join(found)


def test_both_readers_expose_every_shared_name() -> None:
    node = (REPOSITORY / "engine" / "lib" / "contract.mjs").read_text()
    for key, value in shared_names().items():
        assert value in vars(contract).values(), key
        assert f"names.{key})" in node or key == "deploy_application_name_prefix", key


def test_the_check_finds_a_name_spelled_by_hand() -> None:
    assert spelled_by_hand("ACAMS_ENV").search("env.ACAMS_ENV")
    assert spelled_by_hand("migration_lock.toml").search("const LOCK_FILE = 'migration_lock.toml';")
    assert not spelled_by_hand("embedded").search('"the embedded PostgreSQL server"')
    assert not spelled_by_hand("embedded").search('{"embedded": database.embedded}')
