"""migrate-data: an empty data-only migration, from a transaction template, to fill in. Writes files only."""

from __future__ import annotations

from pathlib import Path

from acams_db.migrations import folder
from acams_db.settings import Settings

TEMPLATE = """\
-- Data migration NAME, written by `acams-db migrate-data`: fill it in.
--
-- Data only (INSERT, UPDATE, DELETE). Schema changes (CREATE, ALTER, DROP) go in their own
-- migration (make migrate): lint-migrations fails a migration that mixes the two.
--
-- One transaction: all of it applies or none of it. A failing statement, or an exception raised
-- by a check, undoes everything before it and Prisma records the migration as failed.
-- Keep BEGIN first and COMMIT last.
--
-- Idempotent: write every statement so that running it a second time changes nothing
-- (UPDATE ... WHERE the value still needs changing; INSERT ... ON CONFLICT DO NOTHING), so
-- that applying it again after `make resolve`, or by hand in an emergency, does no harm.
-- Deleting every row of a table needs a `-- breaking: <what is lost and why that is safe>` note.
-- Large tables: keep each data migration short (they hold row locks until COMMIT).

BEGIN;

-- Give up instead of queueing behind a long-running query for a lock.
SET LOCAL lock_timeout = '5s';

-- Example, after `make migrate name=add_new_field` added the optional column users.new_field:
-- UPDATE "users" SET "new_field" = lower("name") WHERE "new_field" IS NULL;

-- Example check before COMMIT (an exception undoes the whole migration):
-- DO $$
-- BEGIN
--   IF EXISTS (SELECT 1 FROM "users" WHERE "new_field" IS NULL) THEN
--     RAISE EXCEPTION 'users.new_field is still empty for some users';
--   END IF;
-- END $$;

COMMIT;
"""


def create_data_migration(settings: Settings, name: str) -> Path:
    """Write `<UTC now>_<name>/migration.sql` from the template and return the folder. Applies nothing."""
    return folder.write_new_migration(settings, name, TEMPLATE.replace("NAME", name, 1))
