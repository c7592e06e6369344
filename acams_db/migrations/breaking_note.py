"""The `-- breaking:` note that documents a destructive migration: in its SQL's comments or a README beside it."""

from __future__ import annotations

import re
from pathlib import Path

from acams_db.sql.parsing import ParsedSql

TEMPLATE = "TODO: say what breaks, and why it is safe"
README_NAMES = ("readme.md", "readme", "readme.txt")
BREAKING_NOTE = re.compile(r"^(?:--|/\*)\s*breaking:\s*(?P<note>.*?)\s*(?:\*/)?$", re.IGNORECASE | re.DOTALL)


def breaking_notes(parsed: ParsedSql) -> list[tuple[int, str]]:
    """(line, text) of each `-- breaking: …` comment (a real comment, not text inside a string)."""
    matches = ((comment.line, BREAKING_NOTE.match(comment.text)) for comment in parsed.comments)
    return [(line, match["note"]) for line, match in matches if match]


def is_template(note: str) -> bool:
    return note.upper().startswith("TODO")


def breaking_note(folder: Path, parsed: ParsedSql) -> str | None:
    """The migration's `-- breaking:` note, or the name of its README; None when it has neither (or only the
    unfilled template)."""
    for _, note in breaking_notes(parsed):
        if note and not is_template(note):
            return note
    readme = _readme(folder)
    return f"see {readme.name}" if readme else None


def _readme(folder: Path) -> Path | None:
    for path in folder.iterdir():
        if path.is_file() and path.name.lower() in README_NAMES and path.read_text().strip():
            return path
    return None
