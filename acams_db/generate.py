"""Generate Prisma Client Python from schema.prisma, skipping the work when nothing it depends on changed."""

from __future__ import annotations

import compileall
import hashlib
import importlib.metadata
import importlib.util
import re
import sys
from pathlib import Path

from acams_db.errors import SetupMissingError, ToolchainError
from acams_db.prisma_cli import run_prisma
from acams_db.settings import Settings

STAMP_NAME = ".acams-client-inputs.sha256"
# Prisma Client Python reads its configuration ([tool.prisma]: the engine version it expects, the CLI's) from
# the pyproject.toml of the current folder (prisma/_config.py, Config.load): a script run from any other folder
# expected the engine of Prisma Client Python's own release and failed with MismatchedVersionsError. The
# generated package reads the project's file instead, wherever the script runs from.
_CONFIG_PATH_LINE = re.compile(r"^(\s*path = )Path\([^\n]*\)(  # [^\n]*)?$", re.MULTILINE)
_BAKED = "# the project's, baked in by acams_db/generate.py"
# The generated client's HTTP sessions: acams_db/loopback_http.py for its requests to the local engine.
_SESSIONS = {
    "_async_http.py": ("httpx.AsyncClient(**self.session_kwargs)", "async_session"),
    "_sync_http.py": ("httpx.Client(**self.session_kwargs)", "sync_session"),
}


def client_inputs_digest(settings: Settings) -> str:
    """A digest of everything the generated client depends on."""
    digest = hashlib.sha256()
    for path in (settings.schema_path, settings.project_root / "package-lock.json"):
        digest.update(path.read_bytes() if path.is_file() else b"")
    digest.update(importlib.metadata.version("prisma").encode())
    # How the generated client is post-processed (below).
    digest.update(Path(__file__).read_bytes())
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
    bake_project_config(_client_package(), settings.project_root / "pyproject.toml")
    use_loopback_http(_client_package())
    # Compiled to bytecode now: where Python may not write bytecode (PYTHONDONTWRITEBYTECODE, as container images
    # often set, or a read-only install), every import would compile the client's half a megabyte of source again.
    compileall.compile_dir(_client_package(), quiet=1)
    stamp.write_text(digest + "\n")
    return True


def bake_project_config(package: Path, pyproject: Path) -> None:
    """Make the generated client in `package` read its configuration from `pyproject`, not from the current folder."""
    module = package / "_config.py"
    text = module.read_text()
    baked, count = _CONFIG_PATH_LINE.subn(lambda match: f"{match[1]}Path({str(pyproject)!r})  {_BAKED}", text, count=1)
    if count != 1:
        raise ToolchainError(f"{module} has no pyproject.toml path to replace: is this Prisma Client Python 0.15?")
    module.write_text(baked)


def use_loopback_http(package: Path) -> None:
    """Make the generated client in `package` send its requests to the engine through acams_db/loopback_http.py."""
    for name, (opened, factory) in _SESSIONS.items():
        module = package / name
        text = module.read_text()
        if f"self.session = {factory}(self.session_kwargs)" in text:
            # Generation copies these files from the installed package, which may be a patched client already.
            continue
        if f"self.session = {opened}" not in text:
            raise ToolchainError(f"{module} opens no httpx session to replace: is this Prisma Client Python 0.15?")
        module.write_text(
            text.replace(
                f"self.session = {opened}",
                f"from acams_db.loopback_http import {factory}\n\n"
                f"        self.session = {factory}(self.session_kwargs)  # type: ignore[assignment]",
            )
        )


def _client_package() -> Path:
    """The folder of the `prisma` package, where the client is generated."""
    spec = importlib.util.find_spec("prisma")
    if spec is None or spec.origin is None:
        raise SetupMissingError("Prisma Client Python (PyPI prisma) is not installed. Run: make install")
    return Path(spec.origin).parent


def _client_is_generated() -> bool:
    package = _client_package()
    return (package / "client.py").is_file() and _BAKED in (package / "_config.py").read_text()
