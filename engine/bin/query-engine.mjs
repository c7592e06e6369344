#!/usr/bin/env node
// The query engine executable Prisma Client Python runs: the native engine's
// command line and HTTP interface, executed by the official WebAssembly engine.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BRIDGE_CLIENT_PID_VARIABLE, EMBEDDED_KEYWORD } from '../lib/contract.mjs';
import { SetupError, projectDatabaseUrls } from '../lib/project.mjs';
import { bridgeHandler, createBridgeServer, maxBodyBytes } from '../bridge/server.mjs';
import { WasmQueryEngine, engineVersion } from '../bridge/wasm-engine.mjs';

// The process we must not outlive. Prisma Client Python names itself here (acams_db/operations/generate.py patches
// its spawn): our own parent pid is read only once Node has loaded the imports above, and a client killed before
// that left us a foster parent (pid 1 or a subreaper) that `process.ppid` would take for the client.
const parentPid = Number(process.env[BRIDGE_CLIENT_PID_VARIABLE] || process.ppid);
if (!Number.isSafeInteger(parentPid)) {
  fail(new SetupError(`${BRIDGE_CLIENT_PID_VARIABLE} is not a process id: ${process.env[BRIDGE_CLIENT_PID_VARIABLE]}.`));
}
// The client is gone already: nobody will ever ask anything, nor stop us.
if (process.ppid !== parentPid) process.exit(0);
// Prisma Client Python can be killed without a signal to us (SIGKILL): its death is seen within this.
const PARENT_POLL_MS = 200;
// Stopping waits this long at most for queries in progress and the pool to close.
const SHUTDOWN_DEADLINE_MS = 3_000;

/** The schema Prisma Client Python passes: a file path, or the text itself. */
function readDatamodel() {
  if (process.env.PRISMA_DML_PATH) return readFileSync(process.env.PRISMA_DML_PATH, 'utf8');
  if (process.env.PRISMA_DML) return process.env.PRISMA_DML;
  throw new SetupError('No schema given: set PRISMA_DML_PATH or PRISMA_DML.');
}

/**
 * The datasource URL: an override from the client, else the variable the
 * schema names in `url = env("...")`, else the project's own resolution.
 * @param {string} datamodel
 */
function datasourceUrl(datamodel) {
  if (process.env.OVERWRITE_DATASOURCES) {
    const [override] = JSON.parse(process.env.OVERWRITE_DATASOURCES);
    if (override?.url) return override.url;
  }
  const variable = /url\s*=\s*env\(\s*"([^"]+)"\s*\)/.exec(datamodel)?.[1] ?? 'DATABASE_URL';
  const fromEnvironment = process.env[variable];
  if (fromEnvironment && fromEnvironment !== EMBEDDED_KEYWORD) return fromEnvironment;
  return projectDatabaseUrls().url;
}

/**
 * Fail at start-up, like the native engine, rather than on the first query:
 * the pool only connects when asked to.
 * @param {WasmQueryEngine} engine
 */
async function checkDatabaseReachable(engine) {
  const probe = { action: 'queryRaw', query: { arguments: { query: 'SELECT 1', parameters: '[]' }, selection: {} } };
  const response = await engine.execute(probe, undefined).catch((error) => ({ errors: [{ error: error.message }] }));
  if (response.errors) {
    const reason = response.errors.map((/** @type {any} */ e) => e.user_facing_error?.message ?? e.error).join('; ');
    throw new SetupError(`The query engine cannot reach the database: ${reason}\nCheck DATABASE_URL (\`make database\` shows the one in use).`);
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      version: { type: 'boolean', short: 'v' },
      port: { type: 'string', short: 'p', default: '4466' },
      'enable-raw-queries': { type: 'boolean' },
      'enable-metrics': { type: 'boolean' },
      'enable-playground': { type: 'boolean' },
    },
    strict: false,
  });
  if (values.version) {
    // Read through a pipe by the client: one killed meanwhile reads nothing (EPIPE), and there is nobody to tell.
    process.stdout.on('error', () => process.exit(0));
    process.stdout.write(`query-engine ${engineVersion()}\n`);
    return;
  }
  const limit = maxBodyBytes(process.env);
  const datamodel = readDatamodel();
  const engine = new WasmQueryEngine({ datamodel, url: datasourceUrl(datamodel), logQueries: Boolean(process.env.LOG_QUERIES) });
  const handler = startEngine(engine, datamodel, limit);
  // Listening at once, requests wait for the engine: Prisma Client Python polls /status every 0.1 s until it
  // answers, and a poll held open is answered the moment the engine is ready rather than at the next poll.
  const server = createBridgeServer(handler);
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(0), SHUTDOWN_DEADLINE_MS).unref();
    server.close();
    server.closeAllConnections();
    await engine.disconnect().catch(() => {});
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  // Never outlive the client that started us, even if it died without a signal.
  setInterval(() => { if (process.ppid !== parentPid) shutdown(); }, PARENT_POLL_MS).unref();
  server.on('error', (/** @type {NodeJS.ErrnoException} */ error) => {
    // Accepting can fail under load (EMFILE: too many connections); only failing to listen is fatal.
    if (error.syscall === 'listen') fail(new SetupError(`The query engine bridge cannot listen on 127.0.0.1:${values.port}: ${error.message}`));
    else log(`cannot accept a connection: ${error.message}`);
  });
  server.listen(Number(values.port), '127.0.0.1');
  await handler;
}

/**
 * The engine connected and the database reached; then the bridge's request handler.
 * @param {WasmQueryEngine} engine
 * @param {string} datamodel
 * @param {number} limit the request body limit in bytes
 */
async function startEngine(engine, datamodel, limit) {
  const [handle] = await Promise.all([
    bridgeHandler({ engine, datamodel, maxBodyBytes: limit }),
    engine.connect().then(() => checkDatabaseReachable(engine)),
  ]);
  return handle;
}

/** @param {string} message */
function log(message) {
  process.stderr.write(`query engine bridge: ${message}\n`);
}

/** @param {Error} error */
function fail(error) {
  process.stderr.write(`${error instanceof SetupError ? '' : 'query engine bridge: '}${error.message}\n`);
  process.exit(1);
}

// Every request has its own error boundary (bridge/server.mjs): an error reaching the process is a bug. A
// rejection nobody awaited leaves no state half-changed, so the bridge logs it and serves on; after an uncaught
// exception it cannot know what it left half-done, so it exits.
process.on('unhandledRejection', (reason) => log(`unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}`));
process.on('uncaughtException', (error) => fail(new Error(`uncaught exception: ${error.stack ?? error.message}`)));

main().catch(fail);
