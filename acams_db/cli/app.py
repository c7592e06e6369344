"""The `acams-db` command line: a thin skin over the operations, one command a line below, in the order of --help.

A command parses its options, calls one operation and hands the result to `output`, which writes all text.
To add a command: write it in the module of its group, then list it here.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from typer._click.core import Context

from acams_db.cli import checks, data, environment, help_layout, migrations
from acams_db.runtime.interrupts import Interrupted


class _Commands(help_layout.Group):
    """Ctrl-C outside a command's own handling ends it as everywhere else: one line (printed by `main`), exit 130.

    Typer turns KeyboardInterrupt, while it parses the command line or runs the command, into a silent exit 130.
    """

    def make_context(self, *args: Any, **kwargs: Any) -> Context:
        with _interrupt_as_error():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Context) -> Any:
        with _interrupt_as_error():
            return super().invoke(ctx)


@contextmanager
def _interrupt_as_error() -> Iterator[None]:
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(signal.SIGINT) from None


app = typer.Typer(
    name="acams-db",
    cls=_Commands,
    help="Database toolchain of the ACAMS Learning System (Prisma Migrate, Prisma Client Python, embedded PostgreSQL).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: paragraphs wrapped to the terminal, no boxes
)

COMMANDS: list[tuple[str, Callable[..., None]]] = [
    ("setup", data.setup_development),
    ("migrate", migrations.migrate_schema),
    ("deploy", migrations.deploy_pending),
    ("status", migrations.show_status),
    ("reset", data.reset_development),
    ("resolve", migrations.resolve_failed),
    ("backup", data.take_backup),
    ("backups", data.list_backups),
    ("restore", data.restore_backup),
    ("seed", data.seed_from_file),
    ("generate", environment.generate_client),
    ("db-stop", environment.stop_embedded),
    ("database", environment.show_database),
    ("studio", environment.open_studio),
    ("review", checks.review_migrations),
    ("lint-migrations", checks.lint_migrations),
    ("migrate-data", migrations.migrate_data),
    ("revert", migrations.revert_migration),
    ("rollback", migrations.rollback_last),
    ("preflight", checks.run_preflight),
]
# For the engine's scripts only (engine/lib/project.mjs), not in --help.
HIDDEN_COMMANDS: list[tuple[str, Callable[..., None]]] = [("internal-database-url", environment.internal_database_url)]

for _name, _function in COMMANDS:
    app.command(_name, cls=help_layout.Command)(_function)
for _name, _function in HIDDEN_COMMANDS:
    app.command(_name, cls=help_layout.Command, hidden=True)(_function)
