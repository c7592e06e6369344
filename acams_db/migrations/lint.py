"""lint-migrations: the strategy document's migration rules, checked on the files alone (no database).

Rules (lint_rules.RULES): folder naming and order, never modify and never delete (against manifest.json),
no schema and data changes in one migration, a `-- breaking:` note on destructive ones, and
nothing PostgreSQL refuses inside the migration's transaction. Deploy refuses what this rejects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from acams_db.migrations.lint_rules import RULES
from acams_db.migrations.lint_subjects import History
from acams_db.sql.severity import Severity


@dataclass(frozen=True)
class Finding:
    file: str  # relative to the project root
    line: int | None
    rule: str
    severity: Severity  # ERROR fails the lint; WARNING does not
    message: str

    def __str__(self) -> str:
        location = f"{self.file}:{self.line}" if self.line else self.file
        return f"{location}: {self.rule}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
        }


def errors(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.severity == Severity.ERROR]


def lint_migrations(migrations_dir: Path, *, now: datetime | None = None) -> list[Finding]:
    """Check every migration folder and the manifest; return the findings, ordered by file and line.

    Reads files only. `now` (default: the current time) is what "dated in the future" is measured against.
    """
    history = History(migrations_dir, (now or datetime.now(UTC)).astimezone(UTC))
    findings = [
        Finding(problem.file, problem.line, rule.id, rule.severity, problem.message)
        for rule in RULES
        for problem in rule.check(history)
    ]
    return sorted(findings, key=lambda finding: (finding.file, finding.line or 0))
