"""PostgreSQL's errors reach the schema engine as they reach the native one: a failed deploy names what failed."""

from __future__ import annotations

from tests.support import Project, next_migration


def test_a_not_null_failure_during_deploy_names_the_column(project: Project) -> None:
    """PostgreSQL's `column` field of a NOT NULL violation (23502) reaches the message (issue #12)."""
    assert project.run("deploy").returncode == 0
    project.write_migration(
        next_migration("fill_badly"),
        'CREATE TABLE "Probe" ("required" integer NOT NULL);\nINSERT INTO "Probe" VALUES (NULL);\n',
    )
    deployed = project.run("deploy")
    assert deployed.returncode == 1
    assert "Null constraint failed: (required)" in deployed.stderr, deployed.stderr
