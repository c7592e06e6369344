"""Prisma Migrate with the project's rules: create, deploy (atomic, lock-safe, interruptible), reset and resolve."""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from acams_db import caller, contract
from acams_db.errors import LockTimeoutError, RefusedError, ToolchainError, UsageError
from acams_db.migrations import drift, history, manifest, naming
from acams_db.migrations.folder import MIGRATION_FILE, local_migrations, write_new_migration
from acams_db.runtime import deploy_monitor
from acams_db.runtime.database import Database
from acams_db.runtime.interrupts import Interrupted
from acams_db.runtime.prisma_cli import run_prisma
from acams_db.settings import Settings


@dataclass(frozen=True)
class CreatedMigration:
    folder: Path
    sql: str
    applied: bool


def create(settings: Settings, database: Database, name: str, *, create_only: bool) -> CreatedMigration | None:
    """Write a migration for schema.prisma's changes and (unless `create_only`) apply it.

    Returns None, creating nothing, when schema.prisma has no change. A
    migration that fails to apply is removed again and marked rolled back, so a
    failure leaves the folder and the database as they were.
    """
    naming.check_descriptive_name(name)
    refuse_broken_history(settings, database)
    sql = drift.schema_changes(settings, database)
    if not sql:
        return None
    folder = write_new_migration(settings, name, sql)
    if create_only:
        return CreatedMigration(folder, sql, applied=False)
    try:
        deploy(settings, database, command="Migrate")
    except ToolchainError as error:
        if _finished(settings, database, folder.name):
            raise  # applied after all (stopped while recording it): its folder stays, the next deploy records it
        stopped = error if isinstance(error, Interrupted) else None
        if stopped and folder.name in history.status(settings, database, check_schema_drift=False).failed:
            raise  # stopped while it ran: it may have committed, so the folder stays; the message says what to run
        _withdraw(settings, database, folder)
        again = caller.spelled(make=f"make migrate name={name}", cli=f"acams-db migrate {name}")
        if stopped:
            raise Interrupted(
                stopped.signal_number,
                f"Migrate interrupted by {stopped.signal_name}: {folder.name} was not applied and is withdrawn "
                f"(its folder removed, Prisma's record rolled back). To create it again: {again}.",
            ) from None
        if isinstance(error, RefusedError):  # the lint rejected the new migration itself (a breaking note…)
            raise RefusedError(
                f"{error}\n{folder.name} was withdrawn. To edit it before applying it: "
                + caller.spelled(
                    make=f"make migrate name={name} create_only=1", cli=f"acams-db migrate {name} --create-only"
                )
                + f", fix it, then {caller.typed('deploy')}."
            ) from error
        raise
    return CreatedMigration(folder, sql, applied=True)


class _Signal(BaseException):
    """Raised by the signal handler; a BaseException, like KeyboardInterrupt, so that no `except` on the way
    (a query's error wrapping, subprocess.run killing its child) mistakes it for a failure."""

    def __init__(self, number: int) -> None:
        super().__init__(signal.Signals(number).name)
        self.name = signal.Signals(number).name
        self.number = number


def deploy(
    settings: Settings, database: Database, monitor: deploy_monitor.Monitor | None = None, *, command: str = "Deploy"
) -> list[str]:
    """Apply every pending migration, each in one transaction, and return the ones this call applied.

    A broken history is refused first, with nothing applied (refuse_broken_history).
    Concurrent deploys take turns on Prisma's advisory lock: each migration is applied once, by one of them.
    A migration that fails is rolled back and recorded as failed; deploys refuse to go on until it is resolved.
    Where the environment records the manifest (development), migrations applied for the first time are recorded
    in manifest.json (history.record_applied).
    SIGINT and SIGTERM stop the Prisma CLI and raise interrupts.Interrupted, saying what state the database is in.
    Each migration waits for its locks at most MIGRATION_LOCK_TIMEOUT, tried MIGRATION_LOCK_RETRIES more times;
    then it is recorded rolled back (nothing of it was applied) and LockTimeoutError names who held the locks.
    One stopped while the monitor saw it wait for a lock that its blocker still holds is recorded rolled back.
    `monitor` watches the Prisma CLI's connections while it runs. `command` names the command in messages.
    """
    moment = "before applying anything: nothing changed"
    with _signals_interrupt():
        try:
            refuse_broken_history(settings, database)
            moment = "while applying"
            output = _apply(settings, database, monitor)
            moment = f"after applying: the next {caller.typed('deploy')} records them in manifest.json"
            if settings.policy.records_manifest_on_deploy:
                history.record_applied(settings, database)
        except _Signal as stop:
            message = f"{command} interrupted by {stop.name} {moment}."
            if moment == "while applying":
                message = _interrupted_while_applying(
                    settings, database, monitor, f"{command} interrupted by {stop.name}"
                )
            raise Interrupted(stop.number, message) from None
    # Prisma lists the folders this process applied, one per line: "  └─ 20240101_120000_init/".
    listed = {line.strip().removeprefix("└─ ").rstrip("/") for line in output.splitlines()}
    return [migration.name for migration in local_migrations(settings) if migration.name in listed]


def _apply(settings: Settings, database: Database, monitor: deploy_monitor.Monitor | None) -> str:
    """`prisma migrate deploy`; its output. A failed migration raises with PostgreSQL's reason and what to run."""
    try:
        with history.changing_records(settings, database), monitor.watching() if monitor else contextlib.nullcontext():
            return run_prisma(settings, ["migrate", "deploy"], database=database, environment=_limits(settings))
    except ToolchainError as error:
        failed = history.status(settings, database, check_schema_drift=False).failed
        if not failed:
            raise
        if _lock_not_available(str(error)) and _in_one_transaction(settings, failed[0]):
            raise _lock_timeout(settings, database, failed[0], monitor) from error
        raise ToolchainError(
            f"Migration {failed[0]} failed and was rolled back: the database is at the last good migration.\n"
            f"{_reason(str(error))}\n"
            f"Fix {failed[0]}/{MIGRATION_FILE}, then run: {_resolve_then_deploy(failed[0])}"
        ) from error


# A migration script's database error carries its SQLSTATE, in the CLI's error and in Prisma's record (the 6.19
# WebAssembly schema engine drops it; engine/lib/pg-adapter.mjs adds it): 55P03 is lock_not_available.
_LOCK_NOT_AVAILABLE = re.compile(rf"\(SQLSTATE {contract.LOCK_NOT_AVAILABLE}\)")


def _lock_not_available(error: str) -> bool:
    return bool(_LOCK_NOT_AVAILABLE.search(error))


def _limits(settings: Settings) -> dict[str, str]:
    """What engine/lib/pg-adapter.mjs reads to limit each migration script and to name its connections."""
    limits = {
        contract.APPLICATION_NAME_VARIABLE: deploy_monitor.application_name(),
        contract.LOCK_TIMEOUT_VARIABLE: settings.migration_lock_timeout or "",
        contract.STATEMENT_TIMEOUT_VARIABLE: settings.migration_statement_timeout or "",
        contract.LOCK_RETRIES_VARIABLE: str(settings.migration_lock_retries if settings.migration_lock_timeout else 0),
    }
    return {name: value for name, value in limits.items() if value}


def _in_one_transaction(settings: Settings, name: str) -> bool:
    """Whether migration `name` runs in one transaction, so that a failure leaves nothing of it. A CONCURRENTLY
    statement (alone in its migration: the lint's rule) does not: stopped, it can leave an INVALID index."""
    path = settings.migrations_dir / name / MIGRATION_FILE
    return path.is_file() and not re.search(r"\bCONCURRENTLY\b", path.read_text(), re.IGNORECASE)


def _lock_timeout(
    settings: Settings, database: Database, name: str, monitor: deploy_monitor.Monitor | None
) -> LockTimeoutError:
    """Record `name` rolled back (its transaction was), and say who held the locks it needed."""
    history.mark(settings, database, name, "rolled-back")
    from acams_db.sql import parsing, relations  # pglast: only when it is needed

    try:
        tables = relations.tables_named(parsing.parse((settings.migrations_dir / name / MIGRATION_FILE).read_text()))
    except parsing.SqlSyntaxError:
        tables = set()
    blockers = {
        **(monitor.blockers_seen if monitor else {}),
        **{s.pid: s for s in deploy_monitor.holders(database, tables)},
    }
    tries = settings.migration_lock_retries + 1
    lines = [
        f"Migration {name} could not take its locks within lock_timeout {settings.migration_lock_timeout} "
        f"({tries} tr{'ies' if tries > 1 else 'y'}): nothing of it was applied, and no resolve is needed.",
        *(f"  blocked by {blocker.describe()}" for blocker in blockers.values()),
        f"Run {caller.typed('deploy')} again once they are done (or ended: SELECT pg_terminate_backend(pid)); "
        "MIGRATION_LOCK_TIMEOUT sets the wait.",
    ]
    return LockTimeoutError("\n".join(lines))


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into _Signal, so that the running Prisma CLI is killed and the outcome said.

    Python's default for SIGTERM ends the process at once (its children then die with it: processes.py), and
    SIGINT would end it with a stack trace. Signal handlers belong to the main thread only.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(number: int, frame: FrameType | None) -> None:
        raise _Signal(number)

    previous = {number: signal.signal(number, interrupt) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _interrupted_while_applying(
    settings: Settings, database: Database, monitor: deploy_monitor.Monitor | None, interrupted: str
) -> str:
    try:
        ended = deploy_monitor.end_sessions(database)
        failed = history.status(settings, database, check_schema_drift=False).failed
        if failed and ended and _never_committed(settings, database, failed[0], monitor):
            history.mark(settings, database, failed[0], "rolled-back")
            return (
                f"{interrupted} while {failed[0]} waited for a lock: nothing of it was applied, and no resolve is "
                f"needed (it is recorded rolled back). The next {caller.typed('deploy')} applies it."
            )
    except (_Signal, ToolchainError, ValueError):  # a second signal, the database gone: say what is always true
        failed = []
    if not failed:
        return (
            f"{interrupted}. No migration is half-applied: those Prisma finished are applied, the others pending "
            f"or failed ({caller.typed('status')} says which); a failed one was rolled back by PostgreSQL."
        )
    name = failed[0]
    applied_option = caller.spelled(make="as=applied", cli="--as applied")
    return (
        f"{interrupted} while applying {name}: PostgreSQL rolls its transaction back, and Prisma's record shows it "
        f"failed. Run: {_resolve_then_deploy(name)}. (If the signal came between its commit and Prisma's record, "
        f"its changes are in the database: {applied_option} instead.)"
    )


def _never_committed(settings: Settings, database: Database, name: str, monitor: deploy_monitor.Monitor | None) -> bool:
    """Whether migration `name`, stopped, certainly did not commit: it runs in one transaction, and the monitor
    last saw that transaction wait for a lock its blocker still holds (deploy_monitor.never_got_its_lock)."""
    wait = monitor.lock_wait if monitor else None
    return (
        wait is not None and _in_one_transaction(settings, name) and deploy_monitor.never_got_its_lock(database, wait)
    )


def _resolve(name: str, resolution: str) -> str:
    return caller.spelled(
        make=f"make resolve name={name} as={resolution}", cli=f"acams-db resolve {name} --as {resolution}"
    )


def _resolve_then_deploy(name: str) -> str:
    return f"{_resolve(name, 'rolled-back')} && {caller.typed('deploy')}"


def reset(settings: Settings, database: Database) -> list[str]:
    """Drop everything in the database and apply every migration again; return the migrations applied.

    Development only (the CLI refuses it elsewhere), so what it applies is recorded like a deploy there.
    A history the lint rejects is refused before anything is dropped.
    """
    _refuse_broken_files(settings)
    with history.changing_records(settings, database):
        run_prisma(settings, ["migrate", "reset", "--force", "--skip-generate", "--skip-seed"], database=database)
    history.record_applied(settings, database)
    return history.status(settings, database, check_schema_drift=False).applied


def resolve(settings: Settings, database: Database, name: str, *, resolution: str) -> str:
    """Mark failed migration `name` as rolled back or applied (Prisma's `migrate resolve`)."""
    if resolution not in ("rolled-back", "applied"):
        option = caller.spelled(make="as=", cli="--as")
        raise UsageError(f"{option} must be rolled-back or applied, not {resolution!r}.")
    current = history.status(settings, database, check_schema_drift=False)
    if name not in current.failed:
        state = (
            "applied"
            if name in current.applied
            else "pending (never applied)"
            if name in current.pending
            else "unknown to the database and to prisma_migrations/"
        )
        raise ToolchainError(
            f"Migration {name} is {state}, not failed: only a failed migration can be resolved (Prisma error P3012)."
            + (f" Failed migrations: {', '.join(current.failed)}." if current.failed else " No migration is failed.")
        )
    history.mark(settings, database, name, resolution)
    return f"Marked {name} as {resolution}."


def refuse_broken_history(settings: Settings, database: Database) -> None:
    """Refuse (exit 4), before anything is applied, a history that lint-migrations or status calls broken.

    As Flyway's validate-on-migrate: the files first (every lint error; an unrecorded migration only where deploy
    does not record the manifest itself), then the database (a failed, edited or missing migration, or a pending
    one that sorts before one it has applied). Writes only to mark lock-timed-out migrations rolled back.
    """
    _refuse_broken_files(settings)
    current = history.status(settings, database, check_schema_drift=False)
    if current.failed and _release_lock_timeouts(settings, database):
        current = history.status(settings, database, check_schema_drift=False)
    if current.failed:
        name = current.failed[0]
        raise RefusedError(
            f"Migration {name} failed earlier and is not resolved; nothing more is applied until it is. "
            f"If its changes are not in the database (a failed migration is rolled back): "
            f"{_resolve(name, 'rolled-back')}; if you completed it by hand: "
            f"{_resolve(name, 'applied')}. Then run the command again."
        )
    folder = settings.migrations_dir.relative_to(settings.project_root)
    problems = [
        f"{folder}/{name}/{MIGRATION_FILE} was edited after it was applied here (its checksum differs from the "
        f"database's): restore it (git checkout -- {folder}/{name}) and put the change in a new migration"
        for name in current.modified
    ]
    problems += [
        f"{folder}/{name}/ is applied here but missing: restore it (git checkout -- {folder}/{name}); "
        "never delete a migration"
        for name in current.missing_locally
    ]
    newest_applied = max(current.applied, default="")
    problems += [
        f"{folder}/{name}/ is pending but sorts before {newest_applied}, which is applied here: Prisma would apply "
        "it out of order. If it is applied nowhere yet, create it again so that it gets a current timestamp"
        for name in current.pending
        if name < newest_applied
    ]
    if problems:
        raise RefusedError(_broken_history_message(problems))


def _release_lock_timeouts(settings: Settings, database: Database) -> list[str]:
    """Mark rolled back the failed migrations that only waited too long for a lock (a deploy killed before it
    did so itself): their transaction applied nothing. Returns their names."""
    released = [
        record.name
        for record in history.applied_records(settings, database)
        if not record.finished
        and not record.rolled_back
        and _lock_not_available(record.logs or "")
        and _in_one_transaction(settings, record.name)
    ]
    for name in released:
        history.mark(settings, database, name, "rolled-back")
    return released


def _refuse_broken_files(settings: Settings) -> None:
    # Imported here: the lint loads pglast (a tenth of a second), and imports this package.
    from acams_db.migrations import lint

    findings = lint.errors(lint.lint_migrations(settings.migrations_dir))
    # Where deploy records a migration's checksum itself (development), an unrecorded one is not an error.
    if settings.policy.records_manifest_on_deploy:
        findings = [finding for finding in findings if finding.rule != "unrecorded"]
    if findings:
        raise RefusedError(_broken_history_message([str(finding) for finding in findings]))


def _broken_history_message(problems: list[str]) -> str:
    return "Nothing applied: the migration history is broken.\n" + "\n".join(problems)


def _reason(prisma_error: str) -> str:
    """The database's reason in a failed `migrate deploy`, without the schema engine's stack trace."""
    lines = prisma_error.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Error:")), 0)
    reason = []
    for line in lines[start:]:
        if line.strip()[:2].rstrip(":").isdigit():  # "   0: sql_schema_connector::..." starts the trace
            break
        if line.strip():
            reason.append(line.strip())
    return "\n".join(reason)


def _finished(settings: Settings, database: Database, name: str) -> bool:
    """Whether Prisma recorded `name` applied (finished, not rolled back)."""
    return any(
        record.name == name and record.finished and not record.rolled_back
        for record in history.applied_records(settings, database)
    )


def _withdraw(settings: Settings, database: Database, folder: Path) -> None:
    """Undo a migration that failed to apply: Prisma's record marked rolled back, its folder removed."""
    if folder.name in history.status(settings, database, check_schema_drift=False).failed:
        history.mark(settings, database, folder.name, "rolled-back")
    shutil.rmtree(folder)
    manifest.forget(settings.migrations_dir, folder.name)
