// The official schema engine (WebAssembly) over the project's pg adapter, for
// what the 6.19 CLI cannot do under engine 'js' (its migrate resolve and db
// execute spawn the native schema engine) and for the runner's drift check.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import { MIGRATION_FILE, MIGRATION_LOCK_FILE } from './contract.mjs';
import { ProjectPgAdapterFactory } from './pg-adapter.mjs';
import { loadWasmGlue, withPanicMessage } from './wasm.mjs';
import './wasm-timers.mjs';

const SCHEMA_ENGINE = '@prisma/schema-engine-wasm/schema_engine_bg';

/**
 * The migrations folder as the schema engine reads it (as the CLI's own reader, hidden folders left out).
 * @param {string} baseDir
 */
async function migrationsList(baseDir) {
  const entries = await readdir(baseDir, { withFileTypes: true });
  const folders = entries.filter((entry) => entry.isDirectory() && !entry.name.startsWith('.')).map((entry) => entry.name).sort();
  const readOrError = async (/** @type {string} */ file) =>
    readFile(file, 'utf8').then((value) => ({ tag: 'ok', value }), (error) => ({ tag: 'error', value: String(error.message) }));
  const lock = await readFile(path.join(baseDir, MIGRATION_LOCK_FILE), 'utf8').catch(() => null);
  return {
    baseDir,
    lockfile: { path: MIGRATION_LOCK_FILE, content: lock },
    shadowDbInitScript: '',
    migrationDirectories: await Promise.all(folders.map(async (folder) => ({
      path: folder,
      migrationFile: { path: MIGRATION_FILE, content: await readOrError(path.join(baseDir, folder, MIGRATION_FILE)) },
    }))),
  };
}

/**
 * A schema engine on the database `url` (shadow database: `shadowUrl`, else one it creates and drops).
 * @param {string} schemaPath
 * @param {string} url
 * @param {string | undefined} shadowUrl
 * @returns {Promise<any>} the engine; free() it when done
 */
export async function openSchemaEngine(schemaPath, url, shadowUrl) {
  const { SchemaEngine } = await loadWasmGlue(SCHEMA_ENGINE);
  const factory = new ProjectPgAdapterFactory(url, { shadowDatabaseUrl: shadowUrl });
  const datamodels = [[schemaPath, await readFile(schemaPath, 'utf8')]];
  return withPanicMessage(() => SchemaEngine.new({ datamodels }, () => {}, bindMigrationAwareSqlAdapterFactory(factory)));
}

/**
 * Mark migration `name` rolled back or applied in Prisma's _prisma_migrations table.
 * @param {any} engine
 * @param {{ resolution: string, name: string, migrationsDir: string }} request
 */
export function markMigration(engine, { resolution, name, migrationsDir }) {
  if (resolution === 'rolled-back') return withPanicMessage(() => engine.markMigrationRolledBack({ migrationName: name }));
  if (resolution !== 'applied') throw new Error(`unknown resolution ${resolution}: rolled-back or applied`);
  return withPanicMessage(async () => engine.markMigrationApplied({ migrationName: name, migrationsList: await migrationsList(path.resolve(migrationsDir)) }));
}

/**
 * The SQL taking the migrations' schema (none: `migrationsDir` null) to the schema file's, as
 * `prisma migrate diff --from-migrations DIR --to-schema-datamodel FILE --script` prints it.
 * @param {any} engine
 * @param {{ migrationsDir: string | null, schemaPath: string }} request
 * @returns {Promise<string>}
 */
export async function diffMigrationsToSchema(engine, { migrationsDir, schemaPath }) {
  const from = migrationsDir ? { tag: 'migrations', ...(await migrationsList(path.resolve(migrationsDir))) } : { tag: 'empty' };
  const to = { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: await readFile(schemaPath, 'utf8') }] };
  const result = await withPanicMessage(() => engine.diff({
    from, to, script: true, shadowDatabaseUrl: null, exitCode: null, filters: { externalTables: [], externalEnums: [] },
  }));
  return result.stdout ?? '';
}
