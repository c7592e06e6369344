"""The drift check: the SQL taking the migrations' schema to schema.prisma's, by the schema engine in the runner.

Its answer depends on the files alone (the migrations, the lock file, schema.prisma), the schema engine and
the PostgreSQL server that replays the migrations on a shadow database, never on the database's content:
`status` keeps the last answer in .data/drift.json, keyed by those, and replays only when one changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import suppress
from pathlib import Path

from acams_db.database_url import parse
from acams_db.errors import ToolchainError
from acams_db.migrations.folder import LOCK_FILE, local_migrations
from acams_db.runtime import engine_runner, engine_sql
from acams_db.runtime.database import Database
from acams_db.settings import Settings

EMPTY_DIFF = "-- This is an empty migration."
MEMO_FILE = Path(".data") / "drift.json"
_SERVER_VERSION = "server_version_num"
_ENGINE_PACKAGE = Path("node_modules") / "@prisma" / "schema-engine-wasm" / "package.json"
# Our code between the engine and the database, which shapes what the diff sees.
_ENGINE_CODE = (
    Path("engine") / "bin" / "runner.mjs",
    Path("engine") / "lib" / "wasm-schema-engine.mjs",
    Path("engine") / "lib" / "pg-adapter.mjs",
)


def schema_changes(settings: Settings, database: Database) -> str:
    """SQL taking the migrations' schema to schema.prisma's; empty when they agree. Uses a shadow database.

    What `prisma migrate diff --from-migrations prisma_migrations --to-schema-datamodel schema.prisma --script`
    prints, from the same WebAssembly schema engine, in the command's runner.
    """
    return DriftCheck(settings, database).changes()


class DriftCheck:
    """A diff of the migrations against schema.prisma, sent to the runner at once and answered later.

    With `remembered`, the answer kept for the same files and server is taken instead (see the module).
    """

    def __init__(self, settings: Settings, database: Database, *, remembered: bool = False) -> None:
        self._settings = settings
        self._database = database
        self._runner = engine_runner.runner(settings, database)
        self._key = _files_key(settings, database) if remembered else None
        self._memo = _read_memo(settings) if self._key else {}
        self._request = None if self._memo.get("key") == self._key else self._send()

    def changes(self) -> str:
        if self._request is None:
            server = _server_version(self._settings, self._database)
            if self._memo.get(_SERVER_VERSION) == server:
                return str(self._memo["changes"])
            self._request = self._send()
        try:
            sql = str(self._runner.answer(self._request)).strip()
        except engine_runner.EngineError as error:
            reason = f"{error.code}: {error}" if error.code else str(error)
            raise ToolchainError(f"prisma migrate diff failed:\n{reason.strip()}") from error
        changes = "" if sql in ("", EMPTY_DIFF) else sql + "\n"
        # Kept only when the files are still the ones the key was made of: one saved meanwhile would pair the
        # old key with the new files' answer.
        if self._key and _files_key(self._settings, self._database) == self._key:
            server = _server_version(self._settings, self._database)
            _write_memo(self._settings, {"key": self._key, _SERVER_VERSION: server, "changes": changes})
        return changes

    def abandon(self) -> None:
        """Wait for the diff without using it (a broken history may not replay): its shadow database is dropped."""
        if self._request is not None:
            with suppress(engine_runner.EngineError):
                self._runner.answer(self._request)

    def _send(self) -> int:
        # With no migration yet there is no migration_lock.toml, which diff needs to read the folder.
        source = str(self._settings.migrations_dir) if local_migrations(self._settings) else None
        return self._runner.send("diff", {"migrationsDir": source, "schemaPath": str(self._settings.schema_path)})


def _files_key(settings: Settings, database: Database) -> str | None:
    """A digest of what the diff reads: files, engine, and where it replays (URLs without their passwords); None
    when one cannot be read (no answer is kept then, and the diff itself says what is missing)."""
    digest = hashlib.sha256()
    lock = settings.migrations_dir / LOCK_FILE
    try:
        parts = [
            *(f"{migration.name} {migration.checksum}" for migration in local_migrations(settings)),
            lock.read_text() if lock.is_file() else "",
            settings.schema_path.read_text(),
            (settings.project_root / _ENGINE_PACKAGE).read_text(),
            *((settings.project_root / code).read_text() for code in _ENGINE_CODE),
            parse(database.url).redacted(),
            parse(database.shadow_url).redacted() if database.shadow_url else "",
        ]
    except OSError:
        return None
    for part in parts:
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


def _server_version(settings: Settings, database: Database) -> str:
    key = "server version"
    read = engine_runner.runner(settings, database).remembered
    (row,) = read(
        key, lambda: engine_sql.query(settings, database, f"SELECT current_setting('{_SERVER_VERSION}') AS v")
    )
    return str(row["v"])


def _read_memo(settings: Settings) -> dict[str, object]:
    try:
        memo = json.loads((settings.project_root / MEMO_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return memo if isinstance(memo, dict) else {}


def _write_memo(settings: Settings, memo: dict[str, object]) -> None:
    """Replace the memo whole (a reader never sees half of it); where it cannot be written, keep none."""
    path = settings.project_root / MEMO_FILE
    with suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".drift.")
        try:
            with os.fdopen(descriptor, "w") as file:
                json.dump(memo, file)
            os.replace(temporary, path)
        finally:
            Path(temporary).unlink(missing_ok=True)
