"""SIGINT, SIGTERM and SIGHUP as an exception, so that a command can undo what it started and say so.

Inside `signals_interrupt()` the first of these signals raises `Interrupted` (exit
code 128 + the signal's number) where the command is; later ones are ignored
while it unwinds, so that its clean-up is not cut short. After
`finish_regardless()` (a COMMIT was sent) signals are ignored: the command
finishes and reports what happened. SIGKILL cannot be caught:
children die with the command (`processes.py`) and the next run cleans up.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from acams_db.errors import ToolchainError

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(ToolchainError):
    """The command was stopped by a signal; the message says what was undone."""

    def __init__(self, signal_number: int, message: str | None = None) -> None:
        self.signal_name = signal.Signals(signal_number).name
        self.signal_number = signal_number
        super().__init__(message or f"Interrupted by {self.signal_name}.", exit_code=128 + signal_number)


class Stopped(BaseException):
    """SIGTERM or SIGHUP outside a command's own handling (`signals_interrupt`): like KeyboardInterrupt for
    SIGINT, a BaseException, so that no `except ToolchainError` on the way takes it for a failure and goes on.
    The program (cli/main.py) turns it into `Interrupted`: one line, exit 128 + the signal's number."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal.Signals(signal_number).name)
        self.signal_number = signal_number


class _State:
    received: int | None = None
    finishing = False


@contextmanager
def signals_interrupt() -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP raise `Interrupted` once."""

    def handle(signal_number: int, frame: FrameType | None) -> None:
        if _State.received is None and not _State.finishing:
            _State.received = signal_number
            raise Interrupted(signal_number)

    previous = {number: signal.signal(number, handle) for number in SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        _State.received, _State.finishing = None, False


def finish_regardless() -> None:
    """From now on, a signal no longer interrupts: the command has done what it cannot take back, and finishes."""
    _State.finishing = True
