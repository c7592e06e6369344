// Prisma Studio 6.19 (`prisma studio`) over the project's pg driver adapter and
// the official WebAssembly query engine. prisma.config.ts hands Studio the
// adapter factory below; Prisma calls it in the Studio process only, before
// Studio starts its server, which is where the two workarounds are installed.
import http from 'node:http';
import path from 'node:path';
import { ProjectPgAdapterFactory } from './pg-adapter.mjs';
import { RESOLVED_MARKER, askProject } from './project.mjs';
import { QUERY_ENGINE, loadWasmGlue } from './wasm.mjs';

const LOOPBACK = '127.0.0.1';
const LOOPBACK_NAMES = new Set([LOOPBACK, 'localhost', '::1']);
/** Set by `acams-db studio`, which has applied the environment's policy: read-only or read-write. */
export const STUDIO_ACCESS = 'ACAMS_STUDIO_ACCESS';
// The database refuses every write in a session with this setting.
const READ_ONLY_SESSION = '-c default_transaction_read_only=on';

/**
 * The adapter factory of `studio.adapter` in prisma.config.ts.
 * @returns {Promise<ProjectPgAdapterFactory>}
 */
export async function studioAdapterFactory() {
  const { url, readOnly, launcherOwnsStdin } = studioAccess();
  bindToLoopback(process.argv);
  await serveWasmQueryEngineAsNativeLibrary();
  if (launcherOwnsStdin) exitWhenLauncherExits();
  return new ProjectPgAdapterFactory(url, { pool: readOnly ? { options: READ_ONLY_SESSION } : {} });
}

/** @type {{ url: string, readOnly: boolean } | undefined} */
let typedStudioAccess;

/**
 * For `prisma studio` typed by hand: ask the project's settings for the
 * database and access (production is refused there), before Prisma validates
 * the schema; return the database URL.
 */
export function resolveTypedStudio() {
  const answer = askProject(['studio', '--internal-access'], 'Prisma Studio cannot open this database');
  typedStudioAccess = { url: /** @type {string} */ (answer.url), readOnly: Boolean(answer.read_only) };
  return typedStudioAccess.url;
}

/**
 * The database and access of this Studio: as `acams-db studio` decided, or,
 * for `prisma studio` typed by hand, as the project's settings decided.
 * @param {NodeJS.ProcessEnv} env
 */
function studioAccess(env = process.env) {
  const access = env[STUDIO_ACCESS];
  if (env[RESOLVED_MARKER] === '1' && env.DATABASE_URL && access) {
    return { url: env.DATABASE_URL, readOnly: access !== 'read-write', launcherOwnsStdin: true };
  }
  if (!typedStudioAccess) resolveTypedStudio();
  const { url, readOnly } = /** @type {{ url: string, readOnly: boolean }} */ (typedStudioAccess);
  return { url, readOnly, launcherOwnsStdin: false };
}

/**
 * Studio 6.19 listens on every interface unless `--hostname` is given, and
 * it serves the whole database without authentication: listen on loopback
 * only, and refuse any other host.
 * @param {string[]} argv
 */
function bindToLoopback(argv) {
  const hostname = requestedHostname(argv);
  if (hostname !== undefined && !LOOPBACK_NAMES.has(hostname)) {
    throw new Error(`Prisma Studio serves the database without authentication and binds to ${LOOPBACK} only; refused --hostname ${hostname}.`);
  }
  const listen = http.Server.prototype.listen;
  // @ts-ignore - same signature as the original
  http.Server.prototype.listen = function listenOnLoopback(...args) {
    if (typeof args[0] === 'number' && args[1] === undefined) args[1] = LOOPBACK;
    return listen.apply(this, /** @type {any} */ (args));
  };
}

/** @param {string[]} argv */
function requestedHostname(argv) {
  for (const [index, argument] of argv.entries()) {
    if (argument === '--hostname' || argument === '-n') return argv[index + 1];
    if (argument.startsWith('--hostname=')) return argument.slice('--hostname='.length);
  }
  return undefined;
}

/**
 * Studio 6.19 queries through Prisma Client's library runtime, which loads
 * the native Node-API query engine with process.dlopen even when a driver
 * adapter is configured: it takes the WebAssembly engine only from generated
 * wasm clients (`engineWasm`), which Studio never passes. The native file is
 * the placeholder that is never executed (cli-environment.mjs); when Studio
 * opens it, hand it the official WebAssembly query engine of the same engine
 * commit, exactly as the runtime's own wasm loader does.
 */
async function serveWasmQueryEngineAsNativeLibrary() {
  const glue = await loadWasmGlue(QUERY_ENGINE);
  const placeholder = path.resolve(/** @type {string} */ (process.env.PRISMA_QUERY_ENGINE_LIBRARY));
  const library = {
    QueryEngine: glue.QueryEngine,
    version: () => ({ commit: glue.getBuildTimeInfo().commit, version: 'wasm' }),
    debugPanic: () => Promise.reject(new Error('debugPanic is not available in the WebAssembly engine')),
    dmmf: () => Promise.resolve('{}'),
  };
  const dlopen = process.dlopen;
  process.dlopen = function openWasmEngineForPlaceholder(module, filename, ...flags) {
    if (path.resolve(filename) !== placeholder) return dlopen.call(this, module, filename, ...flags);
    module.exports = library;
  };
}

/**
 * `acams-db studio` keeps our stdin open for as long as it runs: end Studio
 * when it closes, so that Studio never outlives its launcher (even a killed one).
 */
function exitWhenLauncherExits() {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
