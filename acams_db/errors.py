"""The one exception family the CLI turns into a message, and the one table of exit codes."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Every exit code of acams-db (README "Status exit codes"); 128 + N after signal N (runtime/interrupts.py)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    SETUP_MISSING = 3
    REFUSED = 4
    LOCK_TIMEOUT = 5
    # `status`, most serious first when several apply.
    FAILED_MIGRATION = 10
    MODIFIED_MIGRATION = 11
    MISSING_MIGRATION = 12
    PENDING_MIGRATIONS = 13
    SCHEMA_DRIFT = 14


SIGNAL_EXIT_BASE = 128


class ToolchainError(Exception):
    """An expected failure: bad input, a refused operation, a failed Prisma command.

    The CLI prints the message (no stack trace) and exits with `exit_code`.
    """

    exit_code: int = ExitCode.ERROR

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(ToolchainError):
    """The command line asked for something that does not exist (an unknown environment, a bad value)."""

    exit_code = ExitCode.USAGE


class SetupMissingError(ToolchainError):
    """A part of the installation is missing; the message says what to run."""

    exit_code = ExitCode.SETUP_MISSING


class RefusedError(ToolchainError):
    """An operation the current environment does not allow; the message says what to run instead."""

    exit_code = ExitCode.REFUSED


class LockTimeoutError(ToolchainError):
    """A migration could not take its locks within MIGRATION_LOCK_TIMEOUT, every try: nothing of it applied."""

    exit_code = ExitCode.LOCK_TIMEOUT
