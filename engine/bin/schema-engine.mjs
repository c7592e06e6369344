#!/usr/bin/env node
// The official schema engine (WebAssembly) for what the 6.19 CLI cannot do
// under engine 'js' (its migrate resolve and db execute still spawn the native
// schema engine for a can-connect pre-check):
//   schema-engine.mjs rolled-back|applied NAME MIGRATIONS_DIR SCHEMA_PATH
//     mark a migration in Prisma's _prisma_migrations table;
//   schema-engine.mjs execute SCHEMA_PATH < script.sql
//     run a script in one transaction (the adapter sends it whole).
// The database is DATABASE_URL (SHADOW_DATABASE_URL optional).
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import { ProjectPgAdapterFactory } from '../lib/pg-adapter.mjs';
import { loadWasmGlue, withPanicMessage } from '../lib/wasm.mjs';
import '../lib/wasm-timers.mjs';

const SCHEMA_ENGINE = '@prisma/schema-engine-wasm/schema_engine_bg';
const LOCK_FILE = 'migration_lock.toml';

/**
 * The migrations folder as the schema engine reads it.
 * @param {string} baseDir
 */
async function migrationsList(baseDir) {
  const entries = await readdir(baseDir, { withFileTypes: true });
  const folders = entries.filter((entry) => entry.isDirectory() && !entry.name.startsWith('.')).map((entry) => entry.name).sort();
  const readOrError = async (/** @type {string} */ file) =>
    readFile(file, 'utf8').then((value) => ({ tag: 'ok', value }), (error) => ({ tag: 'error', value: String(error.message) }));
  const lock = await readFile(path.join(baseDir, LOCK_FILE), 'utf8').catch(() => null);
  return {
    baseDir,
    lockfile: { path: LOCK_FILE, content: lock },
    shadowDbInitScript: '',
    migrationDirectories: await Promise.all(folders.map(async (folder) => ({
      path: folder,
      migrationFile: { path: 'migration.sql', content: await readOrError(path.join(baseDir, folder, 'migration.sql')) },
    }))),
  };
}

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'execute' && rest.length === 1) {
    const [schemaPath] = rest;
    const script = await text(process.stdin);
    await withEngine(schemaPath, (engine) => engine.dbExecute({ datasourceType: { tag: 'url', url: String(process.env.DATABASE_URL) }, script }));
    return;
  }
  const [migrationName, migrationsDir, schemaPath] = rest;
  if (!['rolled-back', 'applied'].includes(command) || !migrationName || !migrationsDir || !schemaPath) {
    throw new Error('usage: schema-engine.mjs rolled-back|applied NAME MIGRATIONS_DIR SCHEMA_PATH | execute SCHEMA_PATH');
  }
  await withEngine(schemaPath, async (engine) => command === 'rolled-back'
    ? engine.markMigrationRolledBack({ migrationName })
    : engine.markMigrationApplied({ migrationName, migrationsList: await migrationsList(path.resolve(migrationsDir)) }));
}

/**
 * @param {string} schemaPath
 * @param {(engine: any) => Promise<unknown>} action
 */
async function withEngine(schemaPath, action) {
  const { SchemaEngine } = await loadWasmGlue(SCHEMA_ENGINE);
  const factory = new ProjectPgAdapterFactory(String(process.env.DATABASE_URL), { shadowDatabaseUrl: process.env.SHADOW_DATABASE_URL || undefined });
  const datamodels = [[schemaPath, await readFile(schemaPath, 'utf8')]];
  const engine = await withPanicMessage(() => SchemaEngine.new({ datamodels }, () => {}, bindMigrationAwareSqlAdapterFactory(factory)));
  try {
    await withPanicMessage(() => action(engine));
  } finally {
    engine.free();
  }
}

main().catch((error) => {
  process.stderr.write(`${error?.message ?? error}\n`);
  process.exit(1);
});
