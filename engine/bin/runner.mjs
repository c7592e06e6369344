#!/usr/bin/env node
// One Node process per acams-db command, answering its requests through
// Prisma's own engines (WebAssembly query and schema engines over the
// project's pg adapter): acams_db/runtime/engine_runner.py starts it on the
// command's first request and closes its stdin when the command ends; it dies
// with the command however that ends (PR_SET_PDEATHSIG, set before exec).
// One JSON object a line each way; requests may overlap, answers carry their id:
//   {"id": 1, "method": "query", "params": {"statements": [{"sql": "...", "parameters": []}]}}
//     -> {"id": 1, "result": [{"columns": [...], "types": [...], "rows": [[...]]}]}  (one per statement)
//   {"id": 2, "method": "diff", "params": {"migrationsDir": "..." | null, "schemaPath": "..."}}
//     -> {"id": 2, "result": "SQL"}  (prisma migrate diff --from-migrations | --from-empty --to-schema-datamodel --script)
//   {"id": 3, "method": "mark", "params": {"resolution": "rolled-back" | "applied", "name": "...", "migrationsDir": "...", "schemaPath": "..."}}
//     -> {"id": 3, "result": null}
// A failure answers {"id": N, "error": {"message": "...", "code": "P2010" | "55P03" | null}}: PostgreSQL's
// SQLSTATE when the database raised it, else Prisma's error code when there is one.
// The database is DATABASE_URL (SHADOW_DATABASE_URL optional).
import { createInterface } from 'node:readline';
import { WasmQueryEngine } from '../bridge/wasm-engine.mjs';
import { resolveDatabaseUrls } from '../lib/project.mjs';
import { diffMigrationsToSchema, markMigration, openSchemaEngine } from '../lib/wasm-schema-engine.mjs';

const DATASOURCE_ONLY = 'datasource db {\n  provider = "postgresql"\n  url      = env("DATABASE_URL")\n}\n';
const url = String(process.env.DATABASE_URL);

class EngineError extends Error {
  /** @param {string} message @param {string | null} code */
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/** @type {Promise<WasmQueryEngine> | undefined} */
let queryEngine;
/** @type {Map<string, Promise<any>>} one schema engine per schema file */
const schemaEngines = new Map();

function connectedQueryEngine() {
  queryEngine ??= (async () => {
    const engine = new WasmQueryEngine({ datamodel: DATASOURCE_ONLY, url, poolSize: 1 });
    await engine.connect();
    return engine;
  })();
  return queryEngine;
}

/** @param {string} schemaPath */
function schemaEngine(schemaPath) {
  // As the CLI's adapter gets them (prisma.config.ts): a shadow database that is the database itself is refused
  // here, with its reason, before the engine hides it behind "External error id#0".
  const open = async () => {
    const urls = resolveDatabaseUrls();
    return openSchemaEngine(schemaPath, urls.url, urls.shadowUrl);
  };
  if (!schemaEngines.has(schemaPath)) schemaEngines.set(schemaPath, open());
  return /** @type {Promise<any>} */ (schemaEngines.get(schemaPath));
}

/** @param {{ statements: { sql: string, parameters?: unknown[] }[] }} params */
async function query({ statements }) {
  const engine = await connectedQueryEngine();
  const results = [];
  for (const { sql, parameters = [] } of statements) {
    const response = await engine.execute(
      { action: 'queryRaw', query: { arguments: { query: sql, parameters: JSON.stringify(parameters) }, selection: {} } },
      undefined,
    );
    if (response.errors) {
      const [first] = response.errors;
      const error = first?.user_facing_error;
      // A database error: PostgreSQL's SQLSTATE is in the meta of Prisma's P2010 (raw query failed).
      const sqlstate = /^[0-9A-Z]{5}$/.test(error?.meta?.code ?? '') ? error.meta.code : null;
      const code = sqlstate ?? error?.error_code ?? null;
      throw new EngineError(response.errors.map((/** @type {any} */ e) => e.user_facing_error?.message ?? e.error).join('\n'), code);
    }
    results.push(response.data.queryRaw);
  }
  return results;
}

/** @type {Record<string, (params: any) => Promise<unknown>>} */
const METHODS = {
  query,
  diff: async (params) => diffMigrationsToSchema(await schemaEngine(params.schemaPath), params),
  mark: async (params) => { await markMigration(await schemaEngine(params.schemaPath), params); return null; },
};

/** @param {any} request */
async function answer(request) {
  const { id, method, params } = request;
  try {
    if (!(method in METHODS)) throw new EngineError(`unknown method ${method}`, null);
    return { id, result: await METHODS[method](params) };
  } catch (error) {
    const failure = /** @type {any} */ (error);
    return { id, error: { message: String(failure?.message ?? failure), code: failure?.code ?? null } };
  }
}

async function main() {
  /** @type {Promise<void>[]} */
  const pending = [];
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (!line.trim()) continue;
    pending.push(answer(JSON.parse(line)).then((response) => { process.stdout.write(`${JSON.stringify(response)}\n`); }));
  }
  // stdin closed: the command is done.
  await Promise.all(pending);
  await Promise.all([
    queryEngine?.then((engine) => engine.disconnect()),
    ...[...schemaEngines.values()].map((engine) => engine.then((opened) => opened.free())),
  ].map((closing) => closing?.catch(() => {})));
}

main().then(() => process.exit(0), (error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});
