"""`deploy` with the environment's safety rules.

In staging and production a backup is taken before any pending migration is
applied, and the deploy aborts if the backup fails. Skipping it needs an
explicit flag, and every deploy there is recorded in `backups/<env>/deploys.jsonl`
(who, when, what was applied, which backup, or that there was none).
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from acams_db import backups, migrations
from acams_db.backups import Backup
from acams_db.database import Database
from acams_db.errors import ToolchainError
from acams_db.settings import Settings, redact

DEPLOY_LOG = "deploys.jsonl"
BACKUP_LABEL = backups.BEFORE_DEPLOY


@dataclass(frozen=True)
class Deployment:
    applied: list[str]
    backup: Backup | None
    backup_skipped: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "applied": self.applied,
            "backup": self.backup.as_dict() if self.backup else None,
            "backup_skipped": self.backup_skipped,
        }


def backs_up(settings: Settings) -> bool:
    """Whether deploys of this environment take a backup first."""
    return settings.environment != "development"


def deploy(settings: Settings, database: Database, *, skip_backup: bool, say: Callable[[str], None]) -> Deployment:
    """Apply the pending migrations, backing up first where the environment asks for it."""
    if not backs_up(settings):
        return Deployment(migrations.deploy(settings, database), backup=None, backup_skipped=False)
    backup = None
    if migrations.status(settings, database, check_schema_drift=False).pending:
        if skip_backup:
            say(f"WARNING: deploying to {settings.environment} WITHOUT a backup (--no-backup); this is logged.")
        else:
            say(f"Backing up {database.display} before deploying ...")
            try:
                backup = backups.create(settings, database, BACKUP_LABEL)
            except ToolchainError as error:
                _log(settings, database, say, outcome="aborted: backup failed", applied=[], backup=None, skipped=False)
                raise ToolchainError(f"Deploy aborted, nothing applied: the backup failed.\n{error}") from error
            say(f"Backup written: {backup.path} ({backup.size:,} bytes, sha256 {backup.sha256[:12]}...)")
    try:
        applied = migrations.deploy(settings, database)
    except ToolchainError as error:
        outcome = "interrupted" if isinstance(error, migrations.Interrupted) else "failed"
        _log(settings, database, say, outcome=f"{outcome}: {error}", applied=[], backup=backup, skipped=skip_backup)
        raise
    _log(settings, database, say, outcome="ok", applied=applied, backup=backup, skipped=skip_backup and bool(applied))
    return Deployment(applied, backup, backup_skipped=skip_backup and backup is None and bool(applied))


def _log(
    settings: Settings,
    database: Database,
    say: Callable[[str], None],
    *,
    outcome: str,
    applied: list[str],
    backup: Backup | None,
    skipped: bool,
) -> None:
    entry = {
        "at": datetime.now(UTC).isoformat(),
        "user": getpass.getuser(),
        "host": socket.gethostname(),
        "database": database.display,
        "outcome": redact(outcome),
        "applied": applied,
        "backup": str(backup.path) if backup else None,
        "backup_skipped": skipped,
    }
    log = backups.folder(settings) / DEPLOY_LOG
    try:
        # As private as the dumps beside it: who deployed what, where.
        log.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        log.parent.chmod(0o700)
        descriptor = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(descriptor, 0o600)  # a log written before this rule
        with os.fdopen(descriptor, "a") as stream:
            stream.write(json.dumps(entry) + "\n")
    except OSError as error:  # the deploy's own outcome matters more than its record
        say(f"WARNING: could not record this deploy in {log}: {error}")
