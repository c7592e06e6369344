"""Everything acams-db writes for people and scripts: results as text or one JSON document, SQL, prompts, progress.

Results go to stdout; what a command is doing (where it acts, progress, warnings) to stderr, so that --json output
stays clean. The modules built on pglast (review, rollback) are imported by the functions that show them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from acams_db import caller
from acams_db.errors import ExitCode, ToolchainError
from acams_db.migrations.folder import MIGRATION_FILE
from acams_db.migrations.history import MigrationStatus
from acams_db.migrations.prisma_migrate import CreatedMigration
from acams_db.operations.backups import Backup, Inventory
from acams_db.operations.deploy import Deployment
from acams_db.operations.restore import Restored
from acams_db.operations.setup import Reset, SetUp
from acams_db.questions.seed import SeedReport
from acams_db.runtime.database import Database
from acams_db.settings import Settings

if TYPE_CHECKING:
    from acams_db.migrations.lint import Finding
    from acams_db.migrations.review import MigrationReview
    from acams_db.migrations.rollback import Rollback
    from acams_db.operations.preflight import Check
    from acams_db.operations.revert import ReviewedRevert
    from acams_db.operations.rollback import RolledBack
    from acams_db.operations.studio import StudioAccess


def emit(as_json: bool, document: dict[str, Any], text: str) -> None:
    """Print `document` as JSON for scripts, else `text` for people."""
    typer.echo(json.dumps(document, indent=2) if as_json else text)


def say(message: str) -> None:
    """What a command is doing, on stderr."""
    typer.echo(message, err=True)


def acting_on(settings: Settings, database: Database) -> None:
    """Every command that reaches a database says which first."""
    say(f"environment: {settings.environment} · database: {database.display}")


def confirm(command: str, what: str, question: str) -> None:
    """Ask `question` on a terminal; off a terminal, refuse: scripts pass --force (make: force=1).

    No for an answer is not a failure: "Nothing done." and exit 0, so that make adds no "Error 1" to it.
    """
    if not sys.stdin.isatty():
        hint = caller.spelled(make=f"add force=1 (make {command} ... force=1)", cli="pass --force")
        raise ToolchainError(f"{what} and needs confirmation: run it on a terminal, or {hint}.")
    if not typer.confirm(question):
        say("Nothing done.")
        raise typer.Exit(ExitCode.OK)


def require_pipe(option: str) -> None:
    """Refuse to print credentials on a terminal: `option` is for the programs that read them on a pipe."""
    if sys.stdout.isatty():
        raise ToolchainError(f"{option} prints credentials and only writes to a pipe.")


class TerminalProgress:
    """A progress bar on stderr, drawn only on a terminal and once the seed knows how much it will write."""

    def __init__(self) -> None:
        self._bar: Any = None

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(self, *exception: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def __call__(self, done: int, total: int) -> None:
        if not sys.stderr.isatty():
            return
        if self._bar is None:
            self._bar = typer.progressbar(length=total, label="Seeding questions", file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(done)


# Migrations


def set_up(done: SetUp, as_json: bool) -> None:
    emit(
        as_json,
        done.as_dict(),
        _applied_text(done.applied)
        + ("\nGenerated Prisma Client Python." if done.client_generated else "\nPrisma Client Python is up to date.")
        + "\n"
        + _seed_text(done.seed),
    )


def _applied_text(applied: list[str]) -> str:
    return f"Applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ".")


def migration_created(settings: Settings, created: CreatedMigration | None, as_json: bool) -> None:
    if created is None:
        emit(as_json, {"created": None}, "No schema change: schema.prisma matches the migrations. Nothing created.")
        return
    folder = created.folder.relative_to(settings.project_root)
    emit(
        as_json,
        {"created": str(folder), "applied": created.applied, "sql": created.sql},
        f"Created {folder}/{MIGRATION_FILE}:\n\n{created.sql}\n"
        + (
            "Applied to the development database; client regenerated."
            if created.applied
            else "Not applied (--create-only): review it, then run make deploy."
        ),
    )


def deployed(done: Deployment, as_json: bool) -> None:
    lines = [f"applied {name}" for name in done.applied] or ["No pending migrations."]
    emit(as_json, done.as_dict(), "\n".join(lines))


def status(result: MigrationStatus, as_json: bool) -> None:
    lines = []
    sections = (
        ("applied", result.applied),
        ("pending", result.pending),
        ("FAILED (make resolve name=... as=rolled-back|applied)", result.failed),
        ("MODIFIED after apply (never edit an applied migration)", result.modified),
        ("MISSING LOCALLY (applied here, no folder in prisma_migrations/)", result.missing_locally),
    )
    for title, names in sections:
        if names:
            lines += [f"{title}:", *(f"  {name}" for name in names)]
    if result.schema_drift:
        lines.append("schema.prisma has changes that no migration contains: run make migrate name=...")
    up_to_date = result.up_to_date
    lines.append("Database is up to date." if up_to_date else f"Not up to date (exit {int(result.code)}).")
    emit(as_json, result.as_dict(), "\n".join(lines))


def reset(done: Reset, as_json: bool) -> None:
    text = f"Database reset; applied {len(done.applied)} migration(s)."
    emit(as_json, done.as_dict(), text + (f"\n{_seed_text(done.seed)}" if done.seed else ""))


def data_migration_created(settings: Settings, folder: Path, as_json: bool) -> None:
    relative = folder.relative_to(settings.project_root)
    emit(
        as_json,
        {"created": str(relative)},
        f"Created {relative}/{MIGRATION_FILE}: fill it in, then apply it in development (make deploy).",
    )


def reviews(found: list[MigrationReview], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"migrations": [reviewed.as_dict() for reviewed in found]}, indent=2))
        return
    for reviewed in found:
        _print_review(reviewed)
    typer.echo(f"{len(found)} migration(s) reviewed." if found else "No pending migrations.")


def lint_findings(findings: list[Finding], failed: list[Finding], as_json: bool) -> None:
    summary = f"{len(failed)} error(s), {len(findings) - len(failed)} warning(s)." if findings else "No problems."
    emit(
        as_json,
        {"ok": not failed, "findings": [finding.as_dict() for finding in findings]},
        "\n".join([*map(str, findings), summary]),
    )


def revert_created(settings: Settings, done: ReviewedRevert, as_json: bool) -> None:
    folder = done.created.folder.relative_to(settings.project_root)
    if as_json:
        document = {"reverted": done.created.reverted, "created": str(folder), **done.review.as_dict()}
        typer.echo(json.dumps(document, indent=2))
        return
    _print_review(done.review)
    typer.echo(
        f"Created {folder}/{MIGRATION_FILE} reverting {done.created.reverted}. Not applied: review it"
        + (", fill in its -- breaking: note" if done.review.destructive else "")
        + ", then apply it in development (make deploy) and commit it."
    )


def rollback_plan(planned: Rollback) -> None:
    """The down SQL and its risks, shown before the question."""
    typer.echo(f"Rolling back {planned.name} with:\n")
    _print_sql(planned.sql or "-- (no schema change: a data migration; only its record is undone)\n")
    for risk in planned.risks:
        say(f"warning: line {risk.line}: {risk.rule}: {risk.message}")


def rolled_back(settings: Settings, done: RolledBack, as_json: bool) -> None:
    if not done.applied:  # --dry-run: the plan shown is the whole answer for people
        if as_json:
            emit(True, done.as_dict(), "")
        return
    folder = (settings.migrations_dir / done.plan.name).relative_to(settings.project_root)
    emit(
        as_json,
        done.as_dict(),
        f"Rolled back {done.plan.name}. {folder}/ is still there: edit it (or schema.prisma) and make deploy, "
        "or delete it.",
    )


def preflight(checks: list[Check], ready: bool, as_json: bool) -> None:
    from acams_db.operations.preflight import Outcome

    marks = {Outcome.PASSED: "ok  ", Outcome.FAILED: "FAIL", Outcome.PERSON: "you "}
    lines = []
    for check in checks:
        detail = check.detail.replace("\n", "\n       ")
        lines.append(f"[{marks[check.outcome]}] {check.item}: {detail}")
    lines.append("Ready once a person has done the items marked 'you'." if ready else "Not ready: fix what failed.")
    emit(as_json, {"ready": ready, "checks": [check.as_dict() for check in checks]}, "\n".join(lines))


# Data


def backup_written(written: Backup, as_json: bool) -> None:
    emit(as_json, written.as_dict(), _backup_text(written))


def backup_list(found: Inventory, folder: Path, as_json: bool) -> None:
    for line in found.ignored:
        say(f"ignored: {line}")
    emit(
        as_json,
        {"backups": [backup.as_dict() for backup in found.backups], "ignored": found.ignored},
        "\n\n".join(map(_backup_text, found.backups)) or f"No backups in {folder}.",
    )


def _backup_text(found: Backup) -> str:
    return (
        f"{found.path}\n  taken {found.created_at:%Y-%m-%d %H:%M:%S} UTC from {found.database}\n"
        f"  last migration {found.last_migration or '(none)'} · {found.size:,} bytes · sha256 {found.sha256}"
    )


def restored(archive: Path, done: Restored, as_json: bool) -> None:
    safety = done.backup_before_restore
    emit(
        as_json,
        done.as_dict(),
        f"Restored {archive} (taken {done.backup.created_at:%Y-%m-%d %H:%M:%S} UTC, "
        f"last migration {done.backup.last_migration or '(none)'})."
        + (f"\nThe state before the restore is in {safety.path}." if safety else ""),
    )


def seeded(report: SeedReport, as_json: bool) -> None:
    emit(as_json, report.as_dict(), _seed_text(report))


def _seed_text(report: SeedReport) -> str:
    verb = "Would write" if report.dry_run else "Seeded"
    lines = [
        f"{verb}: {report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.deactivated} deactivated ({report.seconds:.1f} s)."
    ]
    if not report.validated:
        lines.append("Not validated again: this exact file passed validation when it was seeded before, and the")
        lines.append("questions are still as that seed left them.")
    if report.missing and not report.deactivated:
        shown = ", ".join(report.missing[:10]) + (" ..." if len(report.missing) > 10 else "")
        lines.append(f"{len(report.missing)} question(s) in the database are not in the file (left active): {shown}")
        lines.append("Run with --prune to deactivate them.")
    return "\n".join(lines)


# The environment's parts


def client_generated(changed: bool) -> None:
    typer.echo("Generated Prisma Client Python." if changed else "Prisma Client Python is up to date.")


def embedded_stopped(stopped: bool) -> None:
    typer.echo("Embedded PostgreSQL stopped." if stopped else "Embedded PostgreSQL was not running.")


def database(settings: Settings, found: Database, as_json: bool) -> None:
    emit(
        as_json,
        {"environment": settings.environment, "database": found.display, "embedded": found.embedded},
        found.display,
    )


def studio_ready(access: StudioAccess, as_json: bool) -> Callable[[str], None]:
    """What Studio's launcher calls with the address once Studio answers: one JSON line, or a sentence."""

    def announce(url: str) -> None:
        document = {"url": url, "access": access.label}
        typer.echo(json.dumps(document) if as_json else f"Prisma Studio ({access.label}): {url}  (Ctrl+C stops it)")
        sys.stdout.flush()

    return announce


def one_json_line(document: dict[str, object]) -> None:
    """For the programs that read acams-db on a pipe (engine/lib/project.mjs, engine/prisma-cli/studio.mjs)."""
    typer.echo(json.dumps(document))


# SQL for people to read: highlighted on a terminal (plain numbered lines otherwise), and review warnings.


def _print_sql(sql: str) -> None:
    """Print `sql` with line numbers, highlighted only when stdout is a terminal."""
    from rich.console import Console
    from rich.syntax import Syntax

    console = Console(highlight=False)
    if console.is_terminal:
        console.print(Syntax(sql.rstrip("\n"), "sql", line_numbers=True, word_wrap=True, theme="ansi_dark"))
        return
    lines = sql.rstrip("\n").splitlines()
    width = len(str(len(lines)))
    typer.echo("\n".join(f"{number:>{width}} | {line}" for number, line in enumerate(lines, start=1)))


def _print_review(review: MigrationReview) -> None:
    """The migration's SQL, its breaking-change note, then one line per warning (danger in red)."""
    from acams_db.migrations.review import warning_line

    typer.secho(f"== {review.file}", bold=True)
    _print_sql(review.sql)
    if review.breaking_note:
        typer.echo(f"breaking: {review.breaking_note}")
    if not review.warnings:
        typer.echo("No risky statements.")
    for warning in review.warnings:
        typer.secho(warning_line(review, warning), fg="red" if warning.severity == "danger" else "yellow")
    if review.row_counts_unavailable:
        typer.echo(f"(rows not counted: {review.row_counts_unavailable})")
    typer.echo("")
