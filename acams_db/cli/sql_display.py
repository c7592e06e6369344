"""Migrations for people to read: SQL highlighted on a terminal (plain numbered lines otherwise) and warnings."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.syntax import Syntax

from acams_db.migrations.review import MigrationReview, warning_line


def print_sql(sql: str) -> None:
    """Print `sql` with line numbers, highlighted only when stdout is a terminal."""
    console = Console(highlight=False)
    if console.is_terminal:
        console.print(Syntax(sql.rstrip("\n"), "sql", line_numbers=True, word_wrap=True, theme="ansi_dark"))
        return
    lines = sql.rstrip("\n").splitlines()
    width = len(str(len(lines)))
    typer.echo("\n".join(f"{number:>{width}} | {line}" for number, line in enumerate(lines, start=1)))


def print_review(review: MigrationReview) -> None:
    """The migration's SQL, its breaking-change note, then one line per warning (danger in red)."""
    typer.secho(f"== {review.file}", bold=True)
    print_sql(review.sql)
    if review.breaking_note:
        typer.echo(f"breaking: {review.breaking_note}")
    if not review.warnings:
        typer.echo("No risky statements.")
    for warning in review.warnings:
        typer.secho(warning_line(review, warning), fg="red" if warning.severity == "danger" else "yellow")
    if review.row_counts_unavailable:
        typer.echo(f"(rows not counted: {review.row_counts_unavailable})")
    typer.echo("")
