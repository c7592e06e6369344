"""The migration strategy's checklist as a command: every item passed, failed or left to a person.

Items the tool can decide it decides (schema valid and formatted, migration lint,
database state, staging ahead of production, a backup); items that need judgment
(reviewing SQL, a maintenance window, the seed after a Question change, watching
the deploy) are listed with what the tool found, for a person to tick.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from acams_db.errors import ToolchainError
from acams_db.migrations import history, lint, review
from acams_db.operations import backups
from acams_db.questions.bank import load_bank
from acams_db.runtime import deploy_monitor
from acams_db.runtime.database import Database, resolve
from acams_db.runtime.prisma_cli import run_prisma
from acams_db.settings import ENVIRONMENT_VARIABLE, PRODUCTION, STAGING, Settings, database_url_in_files, load_settings
from acams_db.sql import parsing, relations
from acams_db.sql.rules import LONG_LOCK_RULES

RECENT_BACKUP = timedelta(hours=1)
# How far ahead of this clock a backup's time may be (another machine's clock) before it is not believed.
CLOCK_SKEW = timedelta(minutes=1)
QUESTION_TABLES = frozenset({"questions", "answer_options"})
SHIPPED_BANK = "data/questions.json"


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    PERSON = "needs a person"


@dataclass(frozen=True)
class Check:
    item: str
    outcome: Outcome
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"item": self.item, "outcome": str(self.outcome), "detail": self.detail}


def settings_to_deploy(environment: str | None) -> Settings:
    """The settings of the environment named by --env or ACAMS_ENV (the variable or .env); named nowhere, production.

    A deploy target named in .env is checked; development, named there or by default, is no deploy target, so
    production is.
    """
    if environment or os.environ.get(ENVIRONMENT_VARIABLE):
        return load_settings(environment)
    named = load_settings(None)
    return named if named.policy.is_deploy_target else load_settings(PRODUCTION.name)


def preflight(settings: Settings) -> list[Check]:
    """Run the checklist for deploying to `settings.environment`. Writes nothing anywhere."""
    checks = [_schema_valid(settings), _schema_formatted(settings), _migration_lint(settings), _bank_valid(settings)]
    try:
        database = resolve(settings)
        current = history.status(settings, database)
    except ToolchainError as error:
        return [*checks, Check("database reachable and settled", Outcome.FAILED, str(error))]
    checks.append(_database_state(database, current))
    reviews = review.review_migrations(settings, database, current.pending)
    checks += [
        _review(reviews),
        _staging_first(settings, current.pending),
        _backup(settings, current.pending),
        _maintenance_window(reviews),
        _seed_follows_questions(reviews),
        _monitoring(settings, database, reviews),
    ]
    return checks


def failed(checks: list[Check]) -> bool:
    return any(check.outcome == Outcome.FAILED for check in checks)


# `prisma validate` resolves env("DATABASE_URL") but never connects: any well-formed URL will do.
_VALIDATION_ONLY = Database("postgresql://validate@localhost/validate", None, embedded=False)


def _schema_valid(settings: Settings) -> Check:
    try:
        run_prisma(settings, ["validate", "--schema", str(settings.schema_path)], database=_VALIDATION_ONLY)
    except ToolchainError as error:
        return Check("schema.prisma is valid", Outcome.FAILED, str(error))
    return Check("schema.prisma is valid", Outcome.PASSED, "prisma validate")


def _schema_formatted(settings: Settings) -> Check:
    try:
        run_prisma(settings, ["format", "--check", "--schema", str(settings.schema_path)], database=None)
    except ToolchainError:
        return Check("schema.prisma is formatted", Outcome.FAILED, "run: .venv/bin/prisma format")
    return Check("schema.prisma is formatted", Outcome.PASSED, "prisma format --check")


def _migration_lint(settings: Settings) -> Check:
    problems = lint.errors(lint.lint_migrations(settings.migrations_dir))
    if problems:
        return Check("migration lint", Outcome.FAILED, "\n".join(str(problem) for problem in problems))
    return Check("migration lint", Outcome.PASSED, "make lint-migrations is clean")


def _bank_valid(settings: Settings) -> Check:
    try:
        bank = load_bank(settings.project_root / SHIPPED_BANK)
    except ToolchainError as error:
        return Check(f"{SHIPPED_BANK} is valid", Outcome.FAILED, str(error))
    return Check(f"{SHIPPED_BANK} is valid", Outcome.PASSED, f"{len(bank)} questions")


def _database_state(database: Database, current: history.MigrationStatus) -> Check:
    item = "database and migrations agree"
    problems = [
        (current.failed, "failed"),
        (current.modified, "edited after apply"),
        (current.missing_locally, "missing from prisma_migrations/"),
    ]
    found = [f"{', '.join(names)}: {what}" for names, what in problems if names]
    if current.schema_drift:
        found.append("schema.prisma has changes no migration contains (make migrate name=...)")
    if found:
        return Check(item, Outcome.FAILED, f"{database.display}: " + "; ".join(found))
    summary = f"{len(current.applied)} applied, {len(current.pending)} pending"
    return Check(item, Outcome.PASSED, f"{database.display}: {summary}")


def _review(reviews: list[review.MigrationReview]) -> Check:
    if not reviews:
        return Check("review the migration SQL", Outcome.PASSED, "no pending migration")
    lines = []
    for reviewed in reviews:
        lines.append(f"{reviewed.file}: {len(reviewed.warnings)} warning(s)")
        lines += [f"  {review.warning_line(reviewed, warning)}" for warning in reviewed.warnings]
    return Check("review the migration SQL (make review)", Outcome.PERSON, "\n".join(lines))


def _staging_first(settings: Settings, pending: list[str]) -> Check:
    item = "applied on staging first"
    if not settings.policy.checked_on_staging_first:
        return Check(item, Outcome.PASSED, f"not needed for {settings.environment}")
    if not pending:
        return Check(item, Outcome.PASSED, "nothing to apply")
    staging_url = database_url_in_files(settings.project_root, STAGING.name)
    if staging_url is None:
        return Check(item, Outcome.PERSON, "no staging DATABASE_URL in .env.staging: confirm by hand")
    staging = Database(staging_url, None, embedded=False)
    try:
        applied = set(history.status(settings, staging, check_schema_drift=False).applied)
    except ToolchainError as error:
        return Check(item, Outcome.FAILED, f"staging ({staging.display}) cannot be read: {error}")
    missing = [name for name in pending if name not in applied]
    if missing:
        return Check(item, Outcome.FAILED, f"not applied on staging ({staging.display}): {', '.join(missing)}")
    return Check(item, Outcome.PASSED, f"all {len(pending)} pending migration(s) are applied on staging")


def _backup(settings: Settings, pending: list[str]) -> Check:
    item = "backup before applying"
    if not settings.policy.backs_up_before_deploy:
        return Check(item, Outcome.PASSED, f"{settings.environment}: none needed")
    latest = backups.latest(settings)
    if latest:
        # As restore would take it: a backup that restore rejects, or dated ahead of this clock, is no backup.
        try:
            backups.verify(latest.path)
        except ToolchainError as error:
            return Check(item, Outcome.FAILED, f"the newest backup cannot be restored: {error}")
        age = datetime.now(UTC) - latest.created_at
        if age < -CLOCK_SKEW:
            taken = f"{latest.created_at:%Y-%m-%d %H:%M:%S} UTC"
            return Check(item, Outcome.FAILED, f"{latest.path}: its metadata says it was taken {taken}, in the future")
        if age <= RECENT_BACKUP:
            return Check(item, Outcome.PASSED, f"{latest.path} taken {max(0, int(age.total_seconds() // 60))} min ago")
    if pending:
        return Check(item, Outcome.PASSED, "make deploy takes one first (unless no_backup=1)")
    return Check(item, Outcome.PASSED, "nothing to apply")


def _maintenance_window(reviews: list[review.MigrationReview]) -> Check:
    item = "maintenance window"
    reasons = [
        f"{reviewed.name}: {warning.rule} (line {warning.line})"
        for reviewed in reviews
        for warning in reviewed.warnings
        if warning.rule in LONG_LOCK_RULES or warning.destructive
    ]
    if reasons:
        return Check(item, Outcome.PERSON, "suggested: long locks or breaking changes\n" + "\n".join(reasons))
    return Check(item, Outcome.PASSED, "no long locks or breaking changes pending")


def _seed_follows_questions(reviews: list[review.MigrationReview]) -> Check:
    item = "seed script follows the Question model"
    touching = [reviewed.name for reviewed in reviews if _tables_named(reviewed.sql) & QUESTION_TABLES]
    if touching:
        return Check(
            item,
            Outcome.PERSON,
            f"{', '.join(touching)} change(s) questions/answer_options: check that data/questions.schema.json, "
            "data/questions.json and acams_db/questions/seed.py follow (make seed dry_run=1 on staging)",
        )
    return Check(item, Outcome.PASSED, "no pending change to questions or answer_options")


def _monitoring(settings: Settings, database: Database, reviews: list[review.MigrationReview]) -> Check:
    """The deploy's lock limits, and the sessions that hold locks on the pending migrations' tables now."""
    item = "monitor during the migration"
    if not reviews:
        return Check(item, Outcome.PASSED, "nothing to apply")
    try:
        server_timeout = deploy_monitor.lock_timeout_in_force(database)
        tables = set().union(*(_tables_named(reviewed.sql) for reviewed in reviews))
        # An application's short transactions come and go; these stay.
        blockers = [
            session
            for session in deploy_monitor.holders(database, tables)
            if (session.state or "").startswith("idle in transaction") or (session.transaction_seconds or 0) >= 1
        ]
    except ToolchainError as error:
        return Check(item, Outcome.FAILED, f"could not look at the sessions of {database.display}: {error}")
    if blockers:
        return Check(
            item,
            Outcome.FAILED,
            f"sessions hold locks on {', '.join(sorted(tables))}; the deploy would wait for them:\n"
            + "\n".join(blocker.describe() for blocker in blockers),
        )
    detail = f"lock_timeout here: {server_timeout} for every session"
    if settings.migration_lock_timeout is None:
        return Check(
            item, Outcome.PERSON, f"{detail}, none set for migrations: watch the deploy, or set MIGRATION_LOCK_TIMEOUT"
        )
    detail += (
        f"; each migration {settings.migration_lock_timeout} (MIGRATION_LOCK_TIMEOUT), "
        f"{settings.migration_lock_retries} retries; no session holds a lock on {', '.join(sorted(tables))}"
    )
    if settings.deploy_monitor_seconds:
        detail += f"; make deploy reports progress every {settings.deploy_monitor_seconds:g} s"
    return Check(item, Outcome.PASSED, detail)


def _tables_named(sql: str) -> set[str]:
    try:
        return relations.tables_named(parsing.parse(sql))
    except parsing.SqlSyntaxError:
        return set()  # reported by the review item
