"""The names Python and the Node scripts share, read from engine/contract.json (engine/lib/contract.mjs reads it too).

Neither side spells these by hand (tests/test_contract.py): a name changes in the JSON file only.
"""

from __future__ import annotations

import json
from pathlib import Path

_NAMES: dict[str, str] = json.loads((Path(__file__).resolve().parent.parent / "engine" / "contract.json").read_text())

# The environment's name (development, staging, production).
ENVIRONMENT_VARIABLE = _NAMES["environment_variable"]
# DATABASE_URL set to this (or unset, or empty): the embedded PostgreSQL server.
EMBEDDED_KEYWORD = _NAMES["embedded_keyword"]
# "1": DATABASE_URL and SHADOW_DATABASE_URL are resolved already (engine/lib/project.mjs asks acams-db otherwise).
DATABASE_RESOLVED_VARIABLE = _NAMES["database_resolved_variable"]
# Set by `acams-db studio`, which applied the environment's policy: STUDIO_READ_WRITE or anything else (read-only).
STUDIO_ACCESS_VARIABLE = _NAMES["studio_access_variable"]
STUDIO_READ_WRITE = _NAMES["studio_read_write"]
# Prisma's migrations folder (prisma.config.ts), its migrations' one file, and its lock file.
MIGRATIONS_FOLDER = _NAMES["migrations_folder"]
MIGRATION_FILE = _NAMES["migration_file"]
MIGRATION_LOCK_FILE = _NAMES["migration_lock_file"]
SCHEMA_FILE = _NAMES["schema_file"]
# What engine/lib/pg-adapter.mjs reads: the connections' application name, and each migration script's limits.
APPLICATION_NAME_VARIABLE = _NAMES["application_name_variable"]
DEPLOY_APPLICATION_NAME_PREFIX = _NAMES["deploy_application_name_prefix"]
LOCK_TIMEOUT_VARIABLE = _NAMES["lock_timeout_variable"]
STATEMENT_TIMEOUT_VARIABLE = _NAMES["statement_timeout_variable"]
LOCK_RETRIES_VARIABLE = _NAMES["lock_retries_variable"]
# PostgreSQL's SQLSTATE lock_not_available: a lock_timeout ran out (the adapter retries it, deploy reports it).
LOCK_NOT_AVAILABLE = _NAMES["lock_not_available_sqlstate"]
# The pid of the Prisma Client Python process that started the query engine bridge, which exits without it.
BRIDGE_CLIENT_PID_VARIABLE = _NAMES["bridge_client_pid_variable"]
