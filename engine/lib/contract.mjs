// The names the Node scripts and the Python toolchain share, read from
// engine/contract.json (acams_db/contract.py reads it too): neither side
// spells them by hand (tests/test_contract.py).
import { readFileSync } from 'node:fs';
import path from 'node:path';

const names = JSON.parse(readFileSync(path.join(path.dirname(import.meta.dirname), 'contract.json'), 'utf8'));

/** The environment's name (development, staging, production). */
export const ENVIRONMENT_VARIABLE = String(names.environment_variable);
/** DATABASE_URL set to this (or unset, or empty): the embedded PostgreSQL server. */
export const EMBEDDED_KEYWORD = String(names.embedded_keyword);
/** '1': DATABASE_URL / SHADOW_DATABASE_URL are already resolved by the Python side. */
export const DATABASE_RESOLVED_VARIABLE = String(names.database_resolved_variable);
/** Set by `acams-db studio`, which has applied the environment's policy: STUDIO_READ_WRITE or read-only. */
export const STUDIO_ACCESS_VARIABLE = String(names.studio_access_variable);
export const STUDIO_READ_WRITE = String(names.studio_read_write);
/** Prisma's migrations folder, its migrations' one file, and its lock file. */
export const MIGRATIONS_FOLDER = String(names.migrations_folder);
export const MIGRATION_FILE = String(names.migration_file);
export const MIGRATION_LOCK_FILE = String(names.migration_lock_file);
export const SCHEMA_FILE = String(names.schema_file);
/** The connections' application name (set by acams-db deploy, for its monitor), and each migration script's limits. */
export const APPLICATION_NAME_VARIABLE = String(names.application_name_variable);
export const LOCK_TIMEOUT_VARIABLE = String(names.lock_timeout_variable);
export const STATEMENT_TIMEOUT_VARIABLE = String(names.statement_timeout_variable);
export const LOCK_RETRIES_VARIABLE = String(names.lock_retries_variable);
/** PostgreSQL's SQLSTATE lock_not_available: a lock_timeout ran out. */
export const LOCK_NOT_AVAILABLE = String(names.lock_not_available_sqlstate);
/** The pid of the Prisma Client Python process that started the query engine bridge, which exits without it. */
export const BRIDGE_CLIENT_PID_VARIABLE = String(names.bridge_client_pid_variable);
