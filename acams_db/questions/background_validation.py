"""The bank validated in a forked worker process, while the seed starts its client and engine."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
from multiprocessing.connection import Connection
from pathlib import Path

from acams_db.errors import ToolchainError
from acams_db.questions.bank import Bank, read_bank_bytes, validated_bank
from acams_db.runtime.processes import die_with_parent


class BankValidation:
    """The bank at `path` read and validated in a worker process, while this process does other work: the
    seed imports Prisma Client Python and starts the engine meanwhile, a second or so, on the other core.

    The worker is forked, so it starts at once with everything imported. It sends back each question's id
    and content hash and their digest (or the problems), not the questions: the seed reads the file again
    only if it has questions to write, and refuses it if it changed since. It runs at a lower priority:
    the seed may find it has no need of the result (see seed.py), and should not wait on it meanwhile.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        context = multiprocessing.get_context("fork")
        self._outcome, sender = context.Pipe(duplex=False)
        self._worker = context.Process(
            target=_validate_in_worker, args=(os.getpid(), path, self._outcome, sender), daemon=True
        )
        self._worker.start()
        sender.close()

    def result(self) -> Bank:
        """Wait for the worker; the validated bank, else raise BankError with every problem."""
        try:
            outcome = self._outcome.recv()
        except EOFError:
            self._worker.join()
            message = f"Validating {self.path} failed: the worker process ended with exit code {self._worker.exitcode}."
            raise ToolchainError(message) from None
        if isinstance(outcome, ToolchainError):
            raise outcome
        file_digest, questions_digest, ids, content_hashes = outcome
        return Bank(self.path, ids, content_hashes, file_digest=file_digest, questions_digest=questions_digest)

    def close(self) -> None:
        """Stop the worker if it still runs (when the caller gave up before the result)."""
        if self._worker.is_alive():
            self._worker.terminate()
        self._worker.join()
        self._outcome.close()


def _validate_in_worker(seed_pid: int, path: Path, seed_end: Connection, outcome: Connection) -> None:
    # Killed with the seed however it ends (a daemon process is only ended by a parent that exits normally).
    die_with_parent(seed_pid)
    # Ctrl-C reaches the whole process group: the seed handles it (and stops this worker).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The fork inherited the seed's handlers (its event loop's, which only wake the seed's loop): SIGTERM and
    # SIGHUP, with which the seed stops this worker, must end it.
    signal.set_wakeup_fd(-1)
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)
    # The seed's end of the pipe, inherited by the fork: held open here, a write to a seed that has gone would
    # wait forever for a reader instead of failing.
    seed_end.close()
    # Linux's idle class: the worker takes only CPU time nothing else wants (the seed's start-up comes first).
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    try:
        try:
            data = read_bank_bytes(path)
            bank = validated_bank(path, data)
            outcome.send((hashlib.sha256(data).hexdigest(), bank.questions_digest, bank.ids, bank.content_hashes))
        except ToolchainError as error:
            outcome.send(error)
    except BrokenPipeError:
        pass  # the seed that asked has gone (killed or failed): nobody to tell
