"""Generate Prisma Client Python from schema.prisma, skipping the work when nothing it depends on changed."""

from __future__ import annotations

import hashlib
import importlib.metadata
import sys
from pathlib import Path

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
    stamp.write_text(digest + "\n")
    return True


def _client_is_generated() -> bool:
    import importlib.util

    spec = importlib.util.find_spec("prisma")
    return spec is not None and spec.origin is not None and (Path(spec.origin).parent / "client.py").is_file()
