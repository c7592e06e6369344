"""Generate Prisma Client Python from schema.prisma, skipping the work when nothing it depends on changed."""

from __future__ import annotations

import compileall
import hashlib
import importlib.metadata
import importlib.util
import sys
from pathlib import Path

from acams_db.errors import SetupMissingError
from acams_db.prisma_cli import run_prisma
from acams_db.settings import Settings

STAMP_NAME = ".acams-client-inputs.sha256"


def client_inputs_digest(settings: Settings) -> str:
    """A digest of everything the generated client depends on."""
    digest = hashlib.sha256()
    for path in (settings.schema_path, settings.project_root / "package-lock.json"):
        digest.update(path.read_bytes() if path.is_file() else b"")
    digest.update(importlib.metadata.version("prisma").encode())
    # The bridge's path is baked into the client (a copy of the project sharing engine/ shares it).
    digest.update(str((settings.project_root / "engine" / "query-engine.mjs").resolve()).encode())
    return digest.hexdigest()


def _stamp_path() -> Path:
    return Path(sys.prefix) / STAMP_NAME


def generate(settings: Settings, *, force: bool = False) -> bool:
    """Generate the client into this Python environment; return False when it was already up to date."""
    digest = client_inputs_digest(settings)
    stamp = _stamp_path()
    if not force and stamp.is_file() and stamp.read_text().strip() == digest and _client_is_generated():
        return False
    run_prisma(settings, ["generate"], database=None)
    # Compiled to bytecode now: where Python may not write bytecode (PYTHONDONTWRITEBYTECODE, as container images
    # often set, or a read-only install), every import would compile the client's half a megabyte of source again.
    compileall.compile_dir(_client_package(), quiet=1)
    stamp.write_text(digest + "\n")
    return True


def _client_package() -> Path:
    """The folder of the `prisma` package, where the client is generated."""
    spec = importlib.util.find_spec("prisma")
    if spec is None or spec.origin is None:
        raise SetupMissingError("Prisma Client Python (PyPI prisma) is not installed. Run: make install")
    return Path(spec.origin).parent


def _client_is_generated() -> bool:
    return (_client_package() / "client.py").is_file()
