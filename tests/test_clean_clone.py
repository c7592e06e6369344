"""The README's first command, from a fresh clone: install, embedded database, migrations, client; then the dev flow."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.support import HISTORY, REPOSITORY

pytestmark = pytest.mark.slow


def make(clone: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ACAMS_", "DATABASE_URL", "SHADOW_", "VIRTUAL_ENV", "PRISMA_"))
    }
    return subprocess.run(["make", *arguments], cwd=clone, env=environment, capture_output=True, text=True, timeout=900)


def test_setup_from_a_clean_clone_then_migrate(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPOSITORY), str(clone)], check=True)
    try:
        first = make(clone, "setup")
        assert first.returncode == 0, first.stdout + first.stderr
        assert f"Applied {len(HISTORY)} migration(s)" in first.stdout
        assert "Generated Prisma Client Python." in first.stdout

        again = make(clone, "setup")
        assert again.returncode == 0, again.stderr
        assert "pip install" not in again.stdout and "npm ci" not in again.stdout  # nothing reinstalled
        assert "Applied 0 migration(s)." in again.stdout
        assert "Prisma Client Python is up to date." in again.stdout

        schema = clone / "schema.prisma"
        schema.write_text(
            schema.read_text().replace(
                '  lastLoginAt DateTime?         @map("last_login_at")',
                '  lastLoginAt DateTime?         @map("last_login_at")\n  timezone    String?',
            )
        )
        migrate = make(clone, "migrate", "name=add_user_timezone")
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        folder = re.search(r"Created (prisma_migrations/(\d{8}_\d{6})_add_user_timezone)/migration.sql", migrate.stdout)
        assert folder, migrate.stdout
        assert 'ADD COLUMN     "timezone" TEXT' in migrate.stdout
        assert (clone / folder[1] / "migration.sql").is_file()

        status = make(clone, "status")
        assert status.returncode == 0, status.stdout + status.stderr
        client = subprocess.run(
            [
                str(clone / ".venv/bin/python"),
                "-c",
                "from prisma.models import User; print('timezone' in User.model_fields)",
            ],
            cwd=clone,
            capture_output=True,
            text=True,
        )
        assert client.stdout.strip() == "True", client.stderr  # regenerated
    finally:
        make(clone, "db-stop")
