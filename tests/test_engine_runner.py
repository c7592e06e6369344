"""One Node runner per command: a staging deploy starts few Node processes, all of them gone when it ends."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

from acams_db.migrations import manifest
from tests import deployed
from tests.support import Project, next_migration

deployed_template, project = deployed.deployed_template, deployed.project

NICKNAME = next_migration("add_nickname")
NICKNAME_SQL = 'ALTER TABLE "users" ADD COLUMN "nickname" TEXT;\n'
MAX_NODE_PROCESSES = 3


def counting_node(folder: Path) -> Path:
    """A `node` that appends its arguments to folder/starts, one line per process, then runs the real node."""
    real = shutil.which("node")
    assert real is not None
    log = folder / "starts"
    shim = folder / "bin" / "node"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return log


def test_a_staging_deploy_of_one_migration_starts_at_most_three_node_processes(
    project: Project, tmp_path: Path
) -> None:
    project.write_migration(NICKNAME, NICKNAME_SQL)
    manifest.record(project.migrations, {NICKNAME: hashlib.sha256(NICKNAME_SQL.encode()).hexdigest()})
    starts = counting_node(tmp_path)
    path = f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"

    result = project.run("deploy", ACAMS_ENV="staging", PATH=path)

    assert result.returncode == 0, result.stderr
    assert f"applied {NICKNAME}" in result.stderr + result.stdout
    started = starts.read_text().splitlines()
    # The runner (queries, before and after) and `prisma migrate deploy`; the backup is pg_dump.
    assert 1 <= len(started) <= MAX_NODE_PROCESSES, started
    assert any("engine/bin/runner.mjs" in line for line in started), started
