#!/usr/bin/env node
// The official schema engine (WebAssembly), one call per process:
//   schema-engine.mjs rolled-back|applied NAME MIGRATIONS_DIR SCHEMA_PATH
//     mark a migration in Prisma's _prisma_migrations table;
//   schema-engine.mjs execute SCHEMA_PATH < script.sql
//     run a script in one transaction (the adapter sends it whole).
// The database is DATABASE_URL (SHADOW_DATABASE_URL optional). acams-db's
// commands mark migrations through engine/bin/runner.mjs instead.
import { text } from 'node:stream/consumers';
import { markMigration, openSchemaEngine } from '../lib/wasm-schema-engine.mjs';
import { withPanicMessage } from '../lib/wasm.mjs';

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'execute' && rest.length === 1) {
    const [schemaPath] = rest;
    const script = await text(process.stdin);
    await withEngine(schemaPath, (engine) => withPanicMessage(() => engine.dbExecute({ datasourceType: { tag: 'url', url: String(process.env.DATABASE_URL) }, script })));
    return;
  }
  const [name, migrationsDir, schemaPath] = rest;
  if (!['rolled-back', 'applied'].includes(command) || !name || !migrationsDir || !schemaPath) {
    throw new Error('usage: schema-engine.mjs rolled-back|applied NAME MIGRATIONS_DIR SCHEMA_PATH | execute SCHEMA_PATH');
  }
  await withEngine(schemaPath, (engine) => markMigration(engine, { resolution: command, name, migrationsDir }));
}

/**
 * @param {string} schemaPath
 * @param {(engine: any) => Promise<unknown>} action
 */
async function withEngine(schemaPath, action) {
  const engine = await openSchemaEngine(schemaPath, String(process.env.DATABASE_URL), process.env.SHADOW_DATABASE_URL || undefined);
  try {
    await action(engine);
  } finally {
    engine.free();
  }
}

main().catch((error) => {
  process.stderr.write(`${error?.message ?? error}\n`);
  process.exit(1);
});
