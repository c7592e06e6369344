"""One Node process per command answering its requests through Prisma's engines (engine/bin/runner.mjs).

The runner starts on the command's first request for a database and answers every later one: queries
through the WebAssembly query engine, the drift check's diff and marking migrations through the
WebAssembly schema engine. It ends when its Database is no longer used or the command exits (its stdin
is closed), and dies with the command however that ends (processes.py). It runs in a process group of its
own, like pg_tools' programs: Ctrl+C reaches the command only, which stops it. A request cut short (a
signal, an error) ends the runner; the next request starts another.
"""

from __future__ import annotations

import json
import tempfile
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from subprocess import PIPE, Popen
from typing import IO, Any, TypeVar, cast

from acams_db.errors import ToolchainError
from acams_db.runtime.database import Database
from acams_db.runtime.prisma_cli import node_executable, prisma_environment
from acams_db.runtime.processes import dies_with_this_process
from acams_db.settings import Settings, redact

RUNNER_SCRIPT = Path("engine") / "bin" / "runner.mjs"
T = TypeVar("T")


class EngineError(ToolchainError):
    """A request the engine refused; `code` is PostgreSQL's SQLSTATE when the database raised it, else Prisma's
    error code (P...), else None."""

    def __init__(self, message: str, code: str | None) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class _Process:
    popen: Popen[str]
    stderr: IO[str]


class EngineRunner:
    """The runner of one database; requests from one thread at a time."""

    def __init__(self, settings: Settings, database: Database) -> None:
        self._project_root = settings.project_root
        # Not the Database itself: its runner must not keep it alive (see runner()).
        self._environment = prisma_environment(settings, database)
        self._process: _Process | None = None
        self._next_id = 0
        self._answers: dict[int, dict[str, Any]] = {}
        self._remembered: dict[str, Any] = {}
        self._lock = threading.Lock()

    def remembered(self, key: str, read: Callable[[], T]) -> T:
        """What `read()` returned the first time this command asked for `key`, until forget() is called."""
        if key not in self._remembered:
            self._remembered[key] = read()
        return cast(T, self._remembered[key])

    def forget(self) -> None:
        """Drop what remembered() kept: the command has changed the database (or another program may have)."""
        self._remembered.clear()

    def request(self, method: str, params: dict[str, Any]) -> Any:
        """Send one request and wait for its answer; EngineError when the engine refuses it."""
        return self.answer(self.send(method, params))

    def send(self, method: str, params: dict[str, Any]) -> int:
        """Send a request without waiting (several may be in flight); its id, for answer()."""
        with self._lock:
            process = self._started()
            self._next_id += 1
            assert process.popen.stdin is not None
            try:
                process.popen.stdin.write(json.dumps({"id": self._next_id, "method": method, "params": params}) + "\n")
                process.popen.stdin.flush()
            except BaseException:
                self.close(kill=True)
                raise
            return self._next_id

    def answer(self, request_id: int) -> Any:
        """Wait for the answer to request `request_id`."""
        with self._lock:
            try:
                while request_id not in self._answers:
                    self._answers.update(self._read())
            except BaseException:  # a signal or a dead runner: its answers can no longer be matched
                self.close(kill=True)
                raise
            answer = self._answers.pop(request_id)
        if "error" in answer:
            raise EngineError(redact(answer["error"]["message"]), answer["error"].get("code"))
        return answer["result"]

    def close(self, *, kill: bool = False) -> None:
        """End the runner: its stdin closed (it finishes what it was asked and exits), or killed."""
        process, self._process = self._process, None
        self._answers.clear()
        if process is None:
            return
        if kill:
            process.popen.kill()
        elif process.popen.stdin is not None:
            try:
                process.popen.stdin.close()
            except OSError:
                process.popen.kill()
        try:
            process.popen.wait()
        finally:
            process.stderr.close()
            if process.popen.stdout is not None:
                process.popen.stdout.close()

    def _read(self) -> dict[int, dict[str, Any]]:
        assert self._process is not None and self._process.popen.stdout is not None
        line = self._process.popen.stdout.readline()
        if not line:
            self._process.popen.wait()
            self._process.stderr.seek(0)
            reason = redact(self._process.stderr.read().strip()) or f"exit {self._process.popen.returncode}"
            raise ToolchainError(f"{RUNNER_SCRIPT} stopped: {reason}")
        answer = json.loads(line)
        return {int(answer["id"]): answer}

    def _started(self) -> _Process:
        if self._process is None or self._process.popen.poll() is not None:
            if self._process is not None:
                self.close()
            # A file, not a pipe: nobody reads it until the runner fails, and a full pipe would stop it.
            stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed with the runner, in close()
            popen = Popen(
                [node_executable(), str(self._project_root / RUNNER_SCRIPT)],
                cwd=self._project_root,
                env=self._environment,
                stdin=PIPE,
                stdout=PIPE,
                stderr=stderr,
                text=True,
                preexec_fn=dies_with_this_process(),
                process_group=0,
            )
            self._process = _Process(popen, stderr)
        return self._process


_runners: dict[int, EngineRunner] = {}


def runner(settings: Settings, database: Database) -> EngineRunner:
    """The runner of `database` in this command: the same one for every request, until `database` is no longer
    used (or the command exits), which closes it."""
    key = id(database)
    if key not in _runners:
        _runners[key] = EngineRunner(settings, database)
        weakref.finalize(database, _close, key)
    return _runners[key]


def _close(key: int) -> None:
    closing = _runners.pop(key, None)
    if closing is not None:
        closing.close()
