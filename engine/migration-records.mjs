#!/usr/bin/env node
// Mark a migration rolled back or applied in Prisma's _prisma_migrations table
// with the official schema engine (WebAssembly). `prisma migrate resolve` cannot
// be used here: under engine 'js' the 6.19 CLI still spawns the native schema
// engine for its can-connect pre-check.
// Usage: migration-records.mjs rolled-back|applied NAME MIGRATIONS_DIR SCHEMA_PATH
// The database is DATABASE_URL (SHADOW_DATABASE_URL optional).
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import { ProjectPgAdapterFactory } from './pg-adapter.mjs';
import { loadWasmGlue, withPanicMessage } from './wasm.mjs';

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
  const [resolution, migrationName, migrationsDir, schemaPath] = process.argv.slice(2);
  if (!['rolled-back', 'applied'].includes(resolution) || !migrationName || !migrationsDir || !schemaPath) {
    throw new Error('usage: migration-records.mjs rolled-back|applied NAME MIGRATIONS_DIR SCHEMA_PATH');
  }
  const { SchemaEngine } = await loadWasmGlue(SCHEMA_ENGINE);
  const factory = new ProjectPgAdapterFactory(String(process.env.DATABASE_URL), { shadowDatabaseUrl: process.env.SHADOW_DATABASE_URL || undefined });
  const datamodels = [[schemaPath, await readFile(schemaPath, 'utf8')]];
  const engine = await withPanicMessage(() => SchemaEngine.new({ datamodels }, () => {}, bindMigrationAwareSqlAdapterFactory(factory)));
  if (resolution === 'rolled-back') {
    await withPanicMessage(() => engine.markMigrationRolledBack({ migrationName }));
  } else {
    await withPanicMessage(async () => engine.markMigrationApplied({ migrationName, migrationsList: await migrationsList(path.resolve(migrationsDir)) }));
  }
  engine.free();
}

main().catch((error) => {
  process.stderr.write(`${error?.message ?? error}\n`);
  process.exit(1);
});
