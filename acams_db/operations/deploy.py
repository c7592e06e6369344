"""`deploy` with the environment's safety rules.

In staging and production a backup is taken before any pending migration is
applied, and the deploy aborts if the backup fails. Skipping it needs an
explicit flag, and every deploy there is recorded in `backups/<env>/deploys.jsonl`
(who, when, what was applied and how long each migration took, which backup, or that there was none).
Outside development a monitor reports what the deploy runs and waits on while it runs (deploy_monitor).
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from acams_db.errors import LockTimeoutError, RefusedError, ToolchainError
from acams_db.migrations import history, prisma_migrate
from acams_db.operations import backups
from acams_db.operations.backups import Backup
from acams_db.runtime import deploy_monitor
from acams_db.runtime.database import Database
from acams_db.runtime.interrupts import Interrupted
from acams_db.settings import Settings, redact

DEPLOY_LOG = "deploys.jsonl"


@dataclass(frozen=True)
class Deployment:
    applied: list[str]
    backup: Backup | None
    backup_skipped: bool
    seconds: dict[str, float] = field(default_factory=dict)  # how long each applied migration took

    def as_dict(self) -> dict[str, object]:
        timed = {"seconds": self.seconds} if self.seconds else {}  # measured outside development only
        return {
            "applied": self.applied,
            **timed,
            "backup": self.backup.as_dict() if self.backup else None,
            "backup_skipped": self.backup_skipped,
        }


def deploy(
    settings: Settings, database: Database, *, skip_backup: bool, say: Callable[[str], None], events: bool = False
) -> Deployment:
    """Apply the pending migrations, backing up first where the environment asks for it.

    The monitor's reports go to `say`, as JSON events (one object a line) when `events`.
    """
    monitor = _monitor(settings, database, say, events)
    if not settings.policy.backs_up_before_deploy:
        applied = prisma_migrate.deploy(settings, database, monitor)
        return Deployment(applied, None, False, _seconds(settings, database, applied, say, events) if monitor else {})
    # Every refusal comes before the backup: a refused deploy writes and deletes no backup.
    try:
        prisma_migrate.refuse_broken_history(settings, database)
    except RefusedError as error:
        _log(settings, database, say, outcome=f"refused: {error}", applied=[], backup=None, skipped=skip_backup)
        raise
    backup = None
    before = history.status(settings, database, check_schema_drift=False)
    if before.pending:
        if skip_backup:
            say(f"WARNING: deploying to {settings.environment} WITHOUT a backup (--no-backup); this is logged.")
        else:
            say(f"Backing up {database.display} before deploying ...")
            try:
                backup = backups.create(
                    settings,
                    database,
                    backups.BEFORE_DEPLOY,
                    prune_now=False,
                    lock_timeout=settings.migration_lock_timeout,
                )
            except Interrupted as error:
                _log(settings, database, say, outcome=f"interrupted: {error}", applied=[], backup=None, skipped=False)
                raise
            except ToolchainError as error:
                _log(settings, database, say, outcome="aborted: backup failed", applied=[], backup=None, skipped=False)
                raise ToolchainError(f"Deploy aborted, nothing applied: the backup failed.\n{error}") from error
            say(f"Backup written: {backup.path} ({backup.size:,} bytes, sha256 {backup.sha256[:12]}...)")
    try:
        applied = prisma_migrate.deploy(settings, database, monitor)
    except ToolchainError as error:
        outcome = {Interrupted: "interrupted", LockTimeoutError: "blocked"}.get(type(error), "failed")
        if backup is not None and _unchanged(settings, database, before.pending):
            # The database is as the backup found it, and the older backups stay as they were.
            backups.discard(backup)
            say(f"Nothing applied: the backup taken before it is removed ({backup.path.name}).")
            backup = None
        elif backup is not None:
            backups.prune(settings)
        _log(settings, database, say, outcome=f"{outcome}: {error}", applied=[], backup=backup, skipped=skip_backup)
        raise
    if backup is not None:
        backups.prune(settings)
    seconds = _seconds(settings, database, applied, say, events)
    _log(
        settings,
        database,
        say,
        outcome="ok",
        applied=applied,
        backup=backup,
        skipped=skip_backup and bool(applied),
        seconds=seconds,
    )
    return Deployment(applied, backup, skip_backup and backup is None and bool(applied), seconds)


def _unchanged(settings: Settings, database: Database, pending: list[str]) -> bool:
    """Whether a deploy that stopped left every migration pending before it pending, and recorded none failed."""
    try:
        after = history.status(settings, database, check_schema_drift=False)
    except ToolchainError:  # the database cannot say: keep the backup
        return False
    return after.pending == pending and not after.failed


def _monitor(
    settings: Settings, database: Database, say: Callable[[str], None], events: bool
) -> deploy_monitor.Monitor | None:
    if settings.deploy_monitor_seconds is None:
        return None

    def report(sample: deploy_monitor.Sample) -> None:
        say(json.dumps(sample.as_event()) if events else sample.describe())

    return deploy_monitor.Monitor(database, settings.deploy_monitor_seconds, report)


def _seconds(
    settings: Settings, database: Database, applied: list[str], say: Callable[[str], None], events: bool
) -> dict[str, float]:
    """How long each of `applied` took (Prisma's started_at to finished_at), each said."""
    if not applied:
        return {}
    records = {record.name: record.seconds for record in history.applied_records(settings, database)}
    seconds = {name: round(records.get(name) or 0.0, 3) for name in applied}
    for name, duration in seconds.items():
        event = {"event": "applied", "migration": name, "seconds": duration}
        say(json.dumps(event) if events else f"applied {name} in {duration:.1f} s")
    return seconds


def _log(
    settings: Settings,
    database: Database,
    say: Callable[[str], None],
    *,
    outcome: str,
    applied: list[str],
    backup: Backup | None,
    skipped: bool,
    seconds: dict[str, float] | None = None,
) -> None:
    entry = {
        "at": datetime.now(UTC).isoformat(),
        "user": getpass.getuser(),
        "host": socket.gethostname(),
        "database": database.display,
        "outcome": redact(outcome),
        "applied": applied,
        "seconds": seconds or {},
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
