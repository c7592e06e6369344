"""The `acams-db` command line: a thin skin over the toolchain's functions."""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect
import json
import os
import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core

# Typer 0.29 runs its own copy of click: its commands and parameters are of these classes.
from typer._click.core import Context
from typer._click.formatting import HelpFormatter
from typer.models import CommandFunctionType

# The modules built on pglast (review, lint, revert, rollback, preflight and their display) are imported by the
# commands that use them: pglast takes a tenth of a second to load, which every other command would pay.
from acams_db import caller
from acams_db.errors import ToolchainError
from acams_db.migrations import data_migration, history, prisma_migrate
from acams_db.migrations.folder import MIGRATION_FILE
from acams_db.migrations.naming import check_descriptive_name
from acams_db.operations import backups, deployment, generate, restoring
from acams_db.operations import studio as studio_module
from acams_db.questions import seed as seed_module
from acams_db.runtime import database as database_module
from acams_db.runtime import embedded, guardrails, interrupts
from acams_db.runtime.database import Database
from acams_db.settings import ENVIRONMENT_VARIABLE, ENVIRONMENTS, Settings, load_settings


class _Group(typer.core.TyperGroup):
    """The command list gives each command's first paragraph whole, wrapped; click cut it at about 50 characters."""

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, " ".join(inspect.cleandoc(command.help or "").split("\n\n")[0].split())))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


app = typer.Typer(
    name="acams-db",
    cls=_Group,
    help="Database toolchain of the ACAMS Learning System (Prisma Migrate, Prisma Client Python, embedded PostgreSQL).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: paragraphs wrapped to the terminal, no boxes
)


class _Command(typer.core.TyperCommand):
    """Help laid out as click lays it out: NAME and [NAMES]... in the usage line, `--option VALUE`, no types.

    Typer 0.29 writes `{name}`, `<list[str]>` and `<bool>` there, which read as syntax to type (`--force true` is
    refused). Defaults are said once, in the help texts. Paragraphs are wrapped between words only, never at a
    hyphen inside --allow-production, nor inside a `code span`.
    """

    def format_help_text(self, ctx: Context, formatter: HelpFormatter) -> None:
        width = max(formatter.width - formatter.current_indent, 40)
        for paragraph in inspect.cleandoc(self.help or "").split("\n\n"):
            formatter.write_paragraph()
            # A `code span` stays on one line: its spaces are not places to break.
            text = _CODE_SPAN.sub(lambda span: span[0].replace(" ", "\0"), " ".join(paragraph.split()))
            lines = textwrap.wrap(text, width - 2, break_on_hyphens=False)
            formatter.write(
                "".join(f"{' ' * (formatter.current_indent + 2)}{line}\n" for line in lines).replace("\0", " ")
            )

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        arguments = [param for param in self.get_params(ctx) if isinstance(param, typer.core.TyperArgument)]
        return [self.options_metavar or "", *map(_argument_metavar, arguments)]

    def format_options(self, ctx: Context, formatter: HelpFormatter) -> None:
        arguments: list[tuple[str, str]] = []
        options: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            if isinstance(param, typer.core.TyperArgument):
                arguments.append((_argument_metavar(param), getattr(param, "help", None) or ""))
            elif isinstance(param, typer.core.TyperOption) and not param.hidden:
                names = ", ".join(param.opts) + "".join(f" / {name}" for name in param.secondary_opts)
                value = "" if param.is_flag else f" {param.metavar or (param.name or '').upper()}"
                options.append((names + value, param.help or ""))
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


_CODE_SPAN = re.compile(r"`[^`]*`")


def _argument_metavar(argument: typer.core.TyperArgument) -> str:
    name = argument.metavar or (argument.name or "").upper()
    name = name if argument.required else f"[{name}]"
    return name + ("..." if argument.nargs != 1 else "")


def _command(name: str | None = None, *, hidden: bool = False) -> Callable[[CommandFunctionType], CommandFunctionType]:
    return app.command(name, cls=_Command, hidden=hidden)


EnvironmentOption = Annotated[
    str | None,
    typer.Option(
        "--env",
        metavar="ENV",
        help=f"{', '.join(ENVIRONMENTS)} (default: the ACAMS_ENV variable, else ACAMS_ENV in .env, else development).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout for scripts.")]
# For the commands that ask before changing data (see _confirm).
ForceOption = Annotated[bool, typer.Option("--force", help="Do not ask for confirmation (scripts).")]


def _database(settings: Settings) -> Database:
    database = database_module.resolve(settings)
    # Every command says where it acts; on stderr so that --json output stays clean.
    typer.echo(f"environment: {settings.environment} · database: {database.display}", err=True)
    return database


def _emit(as_json: bool, document: dict[str, Any], text: str) -> None:
    """Print `document` as JSON for scripts, else `text` for people."""
    typer.echo(json.dumps(document, indent=2) if as_json else text)


@_command()
def setup(environment: EnvironmentOption = None, as_json: JsonOption = False) -> None:
    """The one-command set-up of development: apply pending migrations, generate the client, seed the questions."""
    settings = load_settings(environment)
    guardrails.require_development(settings, "setup", "There, run make deploy, then make seed.")
    database = _database(settings)
    applied = prisma_migrate.deploy(settings, database)
    generated = generate.generate(settings)
    seeded = _seed(settings, database, DEFAULT_BANK, prune=False, dry_run=False)
    _emit(
        as_json,
        {"applied": applied, "client_generated": generated, "seed": seeded.as_dict()},
        f"Applied {len(applied)} migration(s)"
        + (": " + ", ".join(applied) if applied else ".")
        + ("\nGenerated Prisma Client Python." if generated else "\nPrisma Client Python is up to date.")
        + "\n"
        + _seed_text(seeded),
    )


@_command()
def migrate(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Descriptive lower snake_case name, e.g. add_user_timezone.")
    ],
    create_only: Annotated[
        bool, typer.Option("--create-only", help="Write the migration for review; do not apply it.")
    ] = False,
    environment: EnvironmentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a migration from schema.prisma's changes (YYYYMMDD_HHMMSS_name, UTC), apply it, regenerate the client."""
    check_descriptive_name(name)  # before anything starts or changes
    settings = load_settings(environment)
    guardrails.require_development(
        settings,
        "migrate",
        "Create migrations in development and commit them; make deploy applies the committed ones here.",
    )
    database = _database(settings)
    created = prisma_migrate.create(settings, database, name, create_only=create_only)
    if created is None:
        _emit(
            as_json,
            {"created": None},
            "No schema change: schema.prisma matches the migrations. Nothing created.",
        )
        return
    if created.applied:
        generate.generate(settings)
    folder = created.folder.relative_to(settings.project_root)
    _emit(
        as_json,
        {"created": str(folder), "applied": created.applied, "sql": created.sql},
        f"Created {folder}/{MIGRATION_FILE}:\n\n{created.sql}\n"
        + (
            "Applied to the development database; client regenerated."
            if created.applied
            else "Not applied (--create-only): review it, then run make deploy."
        ),
    )


@_command()
def deploy(
    no_backup: Annotated[
        bool, typer.Option("--no-backup", help="Staging/production: deploy without the backup (logged).")
    ] = False,
    environment: EnvironmentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Apply pending migrations without prompting (CI and production); non-zero exit on any failure.

    A history that lint-migrations or status calls broken is refused first, with nothing applied (exit 4). In
    staging and production a backup is taken first (backups/<env>/) and the deploy aborts if it fails. Exit 1:
    a migration failed (rolled back); 5: a migration could not take its locks within MIGRATION_LOCK_TIMEOUT
    (nothing of it applied, the blocking sessions named: deploy again later); 130/143: interrupted by
    SIGINT/SIGTERM. Outside development a monitor reports progress on stderr (JSON events with --json).
    """
    settings = load_settings(environment)
    database = _database(settings)
    done = deployment.deploy(settings, database, skip_backup=no_backup, say=_say, events=as_json)
    lines = [f"applied {name}" for name in done.applied] or ["No pending migrations."]
    _emit(as_json, done.as_dict(), "\n".join(lines))


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _confirm(command: str, what: str, question: str) -> None:
    """Ask `question` on a terminal; off a terminal, refuse: scripts pass --force (make: force=1).

    No for an answer is not a failure: "Nothing done." and exit 0, so that make adds no "Error 1" to it.
    """
    if not sys.stdin.isatty():
        hint = caller.spelled(make=f"add force=1 (make {command} ... force=1)", cli="pass --force")
        raise ToolchainError(f"{what} and needs confirmation: run it on a terminal, or {hint}.")
    if not typer.confirm(question):
        typer.echo("Nothing done.", err=True)
        raise typer.Exit(0)


@_command()
def status(
    environment: EnvironmentOption = None,
    as_json: JsonOption = False,
    drift: Annotated[
        bool,
        typer.Option(help="Compare schema.prisma with the migrations too, on a shadow database (default: --drift)."),
    ] = True,
) -> None:
    """Show applied, pending, failed, modified and missing migrations and schema drift.

    Exit codes: 0 up to date, 10 failed, 11 modified after apply, 12 missing locally, 13 pending, 14 schema.prisma
    changed without a migration (the most serious wins).
    """
    settings = load_settings(environment)
    database = _database(settings)
    result = history.status(settings, database, check_schema_drift=drift)
    _emit(as_json, result.as_dict(), _status_text(result))
    raise typer.Exit(int(result.code))


def _status_text(result: history.MigrationStatus) -> str:
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
    return "\n".join(lines)


@_command()
def reset(
    force: ForceOption = False,
    no_seed: Annotated[bool, typer.Option("--no-seed", help="Do not seed the question bank afterwards.")] = False,
    environment: EnvironmentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Drop every table, apply all migrations again and seed the question bank. Deletes all data. Development only."""
    settings = load_settings(environment)
    guardrails.require_development(
        settings,
        "reset",
        "To undo a migration, create a new one (make revert name=...); to go back to a backup, make restore file=....",
    )
    database = _database(settings)
    if not force:
        _confirm(
            "reset", "reset deletes all data", f"Delete ALL data in {database.display} and re-apply every migration?"
        )
    applied = prisma_migrate.reset(settings, database)
    if no_seed:
        _emit(as_json, {"applied": applied}, f"Database reset; applied {len(applied)} migration(s).")
        return
    generate.generate(settings)
    seeded = _seed(settings, database, DEFAULT_BANK, prune=False, dry_run=False)
    _emit(
        as_json,
        {"applied": applied, "seed": seeded.as_dict()},
        f"Database reset; applied {len(applied)} migration(s).\n{_seed_text(seeded)}",
    )


@_command()
def resolve(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The failed migration's folder name.")],
    resolution: Annotated[
        str, typer.Option("--as", metavar="rolled-back|applied", help="What happened to its changes.")
    ],
    environment: EnvironmentOption = None,
) -> None:
    """Mark a failed migration as rolled back or applied (Prisma's migrate resolve)."""
    settings = load_settings(environment)
    database = _database(settings)
    typer.echo(prisma_migrate.resolve(settings, database, name, resolution=resolution))


@_command()
def backup(
    label: Annotated[
        str, typer.Option("--label", metavar="WORD", help="A word saying why, e.g. before_import (default: manual).")
    ] = backups.MANUAL,
    environment: EnvironmentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Dump the database (pg_dump custom format) to backups/<env>/ with its size and SHA-256; keep BACKUP_KEEP."""
    settings = load_settings(environment)
    database = _database(settings)
    _say(f"Backing up {database.display} ...")
    with interrupts.signals_interrupt():
        written = backups.create(settings, database, label)
    _emit(as_json, written.as_dict(), _backup_text(written))


@_command("backups")
def list_backups(environment: EnvironmentOption = None, as_json: JsonOption = False) -> None:
    """List the environment's backups, newest first, and one line for each other file there. Reads files only."""
    settings = load_settings(environment)
    found = backups.inventory(settings)
    for line in found.ignored:
        _say(f"ignored: {line}")
    _emit(
        as_json,
        {"backups": [b.as_dict() for b in found.backups], "ignored": found.ignored},
        "\n\n".join(map(_backup_text, found.backups)) or f"No backups in {backups.folder(settings)}.",
    )


def _backup_text(found: backups.Backup) -> str:
    return (
        f"{found.path}\n  taken {found.created_at:%Y-%m-%d %H:%M:%S} UTC from {found.database}\n"
        f"  last migration {found.last_migration or '(none)'} · {found.size:,} bytes · sha256 {found.sha256}"
    )


@_command()
def restore(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="The .dump archive, e.g. backups/staging/20261124_101500_manual.dump."),
    ],
    force: ForceOption = False,
    allow_production: Annotated[
        bool, typer.Option("--allow-production", help="Production: required, with --database.")
    ] = False,
    confirm_database: Annotated[
        str | None,
        typer.Option("--database", metavar="NAME", help="Production: the target database's name, typed out."),
    ] = None,
    environment: EnvironmentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replace the database's schema and data by a backup, in one transaction. Deletes what changed since.

    The archive is checked first (metadata, size, SHA-256, schema). Outside development, the current state is
    backed up first. Production needs --allow-production and --database NAME. Stopped by any signal before it
    commits, it leaves the database as it was.
    """
    settings = load_settings(environment)
    with interrupts.signals_interrupt():
        done = restoring.restore(
            settings,
            file,
            connect=lambda: _database(settings),
            consent=restoring.Consent(force, allow_production, confirm_database),
            confirm=functools.partial(_confirm, "restore", "restore replaces all data"),
            say=_say,
        )
    safety = done.backup_before_restore
    _emit(
        as_json,
        done.as_dict(),
        f"Restored {file} (taken {done.backup.created_at:%Y-%m-%d %H:%M:%S} UTC, "
        f"last migration {done.backup.last_migration or '(none)'})."
        + (f"\nThe state before the restore is in {safety.path}." if safety else ""),
    )


DEFAULT_BANK = Path("data") / "questions.json"


class _TerminalProgress:
    """A progress bar on stderr, drawn only on a terminal and once the seed knows how much it will write."""

    def __init__(self) -> None:
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not sys.stderr.isatty():
            return
        if self._bar is None:
            self._bar = typer.progressbar(length=total, label="Seeding questions", file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


def _seed(
    settings: Settings, database: Database, bank_file: Path, *, prune: bool, dry_run: bool
) -> seed_module.SeedReport:
    """Seed with the generated client (callers make sure it matches schema.prisma)."""
    bank = bank_file if bank_file.is_absolute() else settings.project_root / bank_file
    progress = _TerminalProgress()
    try:
        return asyncio.run(seed_module.seed(database.url, bank, prune=prune, dry_run=dry_run, progress=progress))
    finally:
        progress.close()


def _seed_text(report: seed_module.SeedReport) -> str:
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


@_command()
def seed(
    file: Annotated[
        Path, typer.Option("--file", metavar="FILE", help="The question bank (default: data/questions.json).")
    ] = DEFAULT_BANK,
    prune: Annotated[bool, typer.Option("--prune", help="Deactivate questions that are not in the file.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")] = False,
    environment: EnvironmentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Upsert the question bank by question id, in one transaction: new questions created, changed ones updated.

    The whole file is validated first; an invalid file changes nothing. Unchanged questions are not written.
    """
    settings = load_settings(environment)
    database = _database(settings)
    generate.generate(settings)  # the client must match schema.prisma
    report = _seed(settings, database, file, prune=prune, dry_run=dry_run)
    _emit(as_json, report.as_dict(), _seed_text(report))


@_command("generate")
def generate_client(
    force: Annotated[bool, typer.Option("--force", help="Generate even if nothing changed.")] = False,
) -> None:
    """Generate Prisma Client Python from schema.prisma, unless the client installed was generated from it as it is."""
    settings = load_settings(None)
    changed = generate.generate(settings, force=force)
    typer.echo("Generated Prisma Client Python." if changed else "Prisma Client Python is up to date.")


@_command("db-stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL server of this project."""
    settings = load_settings(None)
    stopped = embedded.stop(settings.project_root)
    typer.echo("Embedded PostgreSQL stopped." if stopped else "Embedded PostgreSQL was not running.")


@_command("database")
def show_database(environment: EnvironmentOption = None, as_json: JsonOption = False) -> None:
    """Show the environment and its database (password redacted), starting the embedded server if needed."""
    settings = load_settings(environment)
    database = _database(settings)
    _emit(
        as_json,
        {"environment": settings.environment, "database": database.display, "embedded": database.embedded},
        database.display,
    )


@_command()
def studio(
    port: Annotated[
        int | None,
        typer.Option("--port", metavar="PORT", help="Port on 127.0.0.1 (default: the first free from 5555)."),
    ] = None,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Open read-only in development too (always so elsewhere).")
    ] = False,
    allow_production: Annotated[
        bool, typer.Option("--allow-production", help="Allow production (opens read-only).")
    ] = False,
    open_browser: Annotated[bool, typer.Option("--open", help="Open Studio in the default browser.")] = False,
    internal_access: Annotated[bool, typer.Option("--internal-access", hidden=True)] = False,
    environment: EnvironmentOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the address as one JSON line once Studio answers.")
    ] = False,
) -> None:
    """Open Prisma Studio on the environment's database, on 127.0.0.1 only; runs until Ctrl+C.

    Read-write in development, read-only in staging; refused in production unless --allow-production (read-only).
    """
    settings = load_settings(environment)
    access = studio_module.studio_access(settings, allow_production=allow_production, read_only=read_only)
    if internal_access:  # engine/prisma-cli/studio.mjs, for `prisma studio` typed by hand: the URL and access on a pipe
        if sys.stdout.isatty():
            raise ToolchainError("--internal-access prints credentials and only writes to a pipe.")
        database = database_module.resolve(settings)
        typer.echo(
            json.dumps({"url": database.url, "read_only": access.read_only, "environment": settings.environment})
        )
        return
    database = _database(settings)

    def announce(url: str) -> None:
        document = {"url": url, "access": access.label}
        typer.echo(json.dumps(document) if as_json else f"Prisma Studio ({access.label}): {url}  (Ctrl+C stops it)")
        sys.stdout.flush()

    port = studio_module.choose_port(port)
    raise typer.Exit(
        studio_module.run_studio(settings, database, access, port=port, open_browser=open_browser, on_ready=announce)
    )


@_command("internal-database-url", hidden=True)
def internal_database_url(environment: EnvironmentOption = None) -> None:
    """For engine/lib/project.mjs only: the unredacted URLs as JSON on a pipe."""
    if sys.stdout.isatty():
        raise ToolchainError("internal-database-url prints credentials and only writes to a pipe.")
    settings = load_settings(environment)
    database = database_module.resolve(settings)
    typer.echo(json.dumps({"url": database.url, "shadow_url": database.shadow_url}))


# Review, migration lint, data migrations and revert: the strategy document's rules as commands.


@_command()
def review(
    names: Annotated[
        list[str] | None,
        typer.Argument(metavar="NAMES", help="Migration folders to review (default: every pending one)."),
    ] = None,
    environment: EnvironmentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print each pending migration's SQL with warnings for risky statements and the rows they affect there.

    Warns about dropped tables, columns, types and indexes, required columns without a default, type changes,
    new unique constraints, renames, and statements holding long locks (CREATE INDEX without CONCURRENTLY…).
    Reads the database, changes nothing; exit 0 whatever it finds.
    """
    from acams_db.cli import sql_display
    from acams_db.migrations import review as review_module

    settings = load_settings(environment)
    database = _database(settings)
    if names:
        reviews = review_module.review_migrations(settings, database, names)
    else:
        reviews = review_module.review_pending(settings, database)
    if as_json:
        typer.echo(json.dumps({"migrations": [r.as_dict() for r in reviews]}, indent=2))
        return
    for reviewed in reviews:
        sql_display.print_review(reviewed)
    typer.echo(f"{len(reviews)} migration(s) reviewed." if reviews else "No pending migrations.")


@_command("lint-migrations")
def lint_migrations(as_json: JsonOption = False) -> None:
    """Check prisma_migrations/ against the migration rules; needs no database. Exit 1 on any error.

    Rules: folders named YYYYMMDD_HHMMSS_name, in order, not in the future; never edited or deleted after being
    recorded in manifest.json; no schema and data changes in one migration; destructive statements documented
    with a `-- breaking:` note. One line per finding: file:line: rule: message.
    """
    from acams_db.migrations import migration_lint

    settings = load_settings(None)
    findings = migration_lint.lint_migrations(settings.migrations_dir)
    failed = migration_lint.errors(findings)
    summary = f"{len(failed)} error(s), {len(findings) - len(failed)} warning(s)." if findings else "No problems."
    _emit(
        as_json,
        {"ok": not failed, "findings": [finding.as_dict() for finding in findings]},
        "\n".join([*map(str, findings), summary]),
    )
    raise typer.Exit(1 if failed else 0)


@_command("migrate-data")
def migrate_data(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Descriptive lower snake_case name, e.g. backfill_new_field.")
    ],
    as_json: JsonOption = False,
) -> None:
    """Create an empty data-only migration YYYYMMDD_HHMMSS_NAME from a transaction template, to fill in.

    Writes the file only. Once filled in, apply it in development (make deploy), which records it in
    manifest.json, and commit both.
    """
    check_descriptive_name(name)
    settings = load_settings(None)
    folder = data_migration.create_data_migration(settings, name).relative_to(settings.project_root)
    _emit(
        as_json,
        {"created": str(folder)},
        f"Created {folder}/{MIGRATION_FILE}: fill it in, then apply it in development (make deploy).",
    )


@_command("revert")
def revert_migration(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="The migration to revert: its folder or its descriptive name.")
    ],
    environment: EnvironmentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write a new migration <now>_revert_NAME holding the reverse SQL of migration NAME, for review.

    Production's way back ("create a new migration to fix issues"): nothing is applied. Data loss is flagged
    as in review. It only writes files, so it is allowed everywhere, but belongs on a developer machine; it
    replays the migrations on a shadow database of the environment's server (or SHADOW_DATABASE_URL).
    """
    from acams_db.cli import sql_display
    from acams_db.migrations import revert
    from acams_db.migrations import review as review_module

    settings = load_settings(environment)
    database = _database(settings)
    created = revert.create_revert(settings, database, name)
    (reviewed,) = review_module.review_migrations(settings, database, [created.folder.name])
    folder = created.folder.relative_to(settings.project_root)
    if as_json:
        typer.echo(json.dumps({"reverted": created.reverted, "created": str(folder), **reviewed.as_dict()}, indent=2))
        return
    sql_display.print_review(reviewed)
    typer.echo(
        f"Created {folder}/{MIGRATION_FILE} reverting {created.reverted}. Not applied: review it"
        + (", fill in its -- breaking: note" if reviewed.destructive else "")
        + ", then apply it in development (make deploy) and commit it."
    )


@_command("rollback")
def rollback_last(
    force: ForceOption = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the down SQL; change nothing.")] = False,
    environment: EnvironmentOption = None,
    as_json: JsonOption = False,
) -> None:
    """Development only: undo the last applied migration in the database; its folder stays for you to edit or delete.

    The down SQL is Prisma's diff from the applied migrations to the same without the last one. It is shown,
    then applied in one transaction with the migration marked rolled back.
    """
    from acams_db.cli import sql_display
    from acams_db.migrations import rollback

    settings = load_settings(environment)
    guardrails.require_development(
        settings, "rollback", "Undo a migration with a new forward migration: make revert name=..., then deploy it."
    )
    database = _database(settings)
    planned = rollback.plan(settings, database)
    if not as_json:
        typer.echo(f"Rolling back {planned.name} with:\n")
        sql_display.print_sql(planned.sql or "-- (no schema change: a data migration; only its record is undone)\n")
        for risk in planned.risks:
            typer.echo(f"warning: line {risk.line}: {risk.rule}: {risk.message}", err=True)
    if dry_run:
        if as_json:
            _emit(True, {**planned.as_dict(), "applied": False}, "")
        return
    if not force:
        _confirm("rollback", "rollback changes the database", f"Apply this to {database.display}?")
    rollback.apply(settings, database, planned)
    folder = (settings.migrations_dir / planned.name).relative_to(settings.project_root)
    _emit(
        as_json,
        {**planned.as_dict(), "applied": True},
        f"Rolled back {planned.name}. {folder}/ is still there: edit it (or schema.prisma) and make deploy, "
        "or delete it.",
    )


def _environment_to_deploy(environment: str | None) -> str:
    """The environment named by --env or ACAMS_ENV (the variable or .env); named nowhere, production."""
    if environment or os.environ.get(ENVIRONMENT_VARIABLE):
        return environment or os.environ[ENVIRONMENT_VARIABLE]
    named = load_settings(None).environment  # development when .env names none
    return named if named != "development" else "production"


@_command("preflight")
def run_preflight(
    environment: Annotated[
        str | None,
        typer.Option(
            "--env",
            metavar="ENV",
            callback=_environment_to_deploy,
            help="The environment about to be deployed (default: ACAMS_ENV, in the variable or in .env; else "
            "production).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The deployment checklist: each item passed, failed or needs a person. Exit 1 when any failed.

    Schema valid and formatted, migration lint, the question bank, the database's state, pending migrations with
    their review warnings, applied on staging first, a backup, a maintenance window, the seed after a Question
    change, monitoring. Reads only.
    """
    from acams_db.operations import preflight

    settings = load_settings(environment)
    typer.echo(f"environment: {settings.environment}", err=True)
    checks = preflight.preflight(settings)
    marks = {preflight.Outcome.PASSED: "ok  ", preflight.Outcome.FAILED: "FAIL", preflight.Outcome.PERSON: "you "}
    lines = []
    for check in checks:
        detail = check.detail.replace("\n", "\n       ")
        lines.append(f"[{marks[check.outcome]}] {check.item}: {detail}")
    verdict = preflight.failed(checks)
    lines.append("Not ready: fix what failed." if verdict else "Ready once a person has done the items marked 'you'.")
    _emit(as_json, {"ready": not verdict, "checks": [check.as_dict() for check in checks]}, "\n".join(lines))
    if verdict:
        raise typer.Exit(1)


def main() -> None:
    try:
        app()
    except ToolchainError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(error.exit_code)
    finally:
        # Whatever the command loaded (Prisma Client Python's generated types above all) is left out of the
        # interpreter's last collections at exit: a tenth of a second after a seed.
        gc.freeze()
