// Prisma Studio 6.19 (`prisma studio`) over the project's pg driver adapter and
// the official WebAssembly query engine. prisma.config.ts hands Studio the
// adapter factory below; Prisma calls it in the Studio process only, before
// Studio starts its server, which is where its workarounds are installed.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ProjectPgAdapterFactory } from '../lib/pg-adapter.mjs';
import { DATABASE_RESOLVED_VARIABLE, ENVIRONMENT_VARIABLE, STUDIO_ACCESS_VARIABLE, STUDIO_READ_WRITE } from '../lib/contract.mjs';
import { askProject } from '../lib/project.mjs';
import { QUERY_ENGINE, loadWasmGlue } from '../lib/wasm.mjs';

const LOOPBACK = '127.0.0.1';
const LOOPBACK_NAMES = new Set([LOOPBACK, 'localhost', '::1']);
// The database refuses every write in a session with this setting.
const READ_ONLY_SESSION = '-c default_transaction_read_only=on';

/**
 * The adapter factory of `studio.adapter` in prisma.config.ts.
 * @returns {Promise<ProjectPgAdapterFactory>}
 */
export async function studioAdapterFactory() {
  const { url, readOnly, environment, launcherOwnsStdin } = studioAccess();
  bindToLoopback(process.argv);
  if (readOnly) showReadOnlyBanner(environment);
  await serveWasmQueryEngineAsNativeLibrary();
  withShortErrors();
  if (launcherOwnsStdin) exitWhenLauncherExits();
  return new ProjectPgAdapterFactory(url, { pool: readOnly ? { options: READ_ONLY_SESSION } : {} });
}

/** @type {{ url: string, readOnly: boolean, environment: string } | undefined} */
let typedStudioAccess;

/**
 * For `prisma studio` typed by hand: ask the project's settings for the
 * database and access (production is refused there), before Prisma validates
 * the schema; return the database URL.
 */
export function resolveTypedStudio() {
  const answer = askProject(['studio', '--internal-access'], 'Prisma Studio cannot open this database');
  typedStudioAccess = { url: answer.url, readOnly: Boolean(answer.read_only), environment: answer.environment };
  return typedStudioAccess.url;
}

/**
 * The database and access of this Studio: as `acams-db studio` decided, or,
 * for `prisma studio` typed by hand, as the project's settings decided.
 * @param {NodeJS.ProcessEnv} env
 */
function studioAccess(env = process.env) {
  const access = env[STUDIO_ACCESS_VARIABLE];
  if (env[DATABASE_RESOLVED_VARIABLE] === '1' && env.DATABASE_URL && access) {
    return { url: env.DATABASE_URL, readOnly: access !== STUDIO_READ_WRITE, environment: String(env[ENVIRONMENT_VARIABLE]), launcherOwnsStdin: true };
  }
  if (!typedStudioAccess) resolveTypedStudio();
  return { .../** @type {{ url: string, readOnly: boolean, environment: string }} */ (typedStudioAccess), launcherOwnsStdin: false };
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

// Studio serves this page at / (its pages/http/databrowser.html).
const STUDIO_PAGES = new Set(['/', '/databrowser.html']);

/**
 * Say on Studio's page, before anyone edits, that the database refuses every
 * change: a band at the bottom of the window and the tab's title. Studio has
 * no read-only mode of its own, and React owns the page's body, so the band is
 * drawn by CSS on the body, letting clicks through.
 * @param {string} environment
 */
function showReadOnlyBanner(environment) {
  const pagePath = path.resolve(process.argv[1], '../public/pages/http/databrowser.html');
  const notice = `Read-only (${environment}): the database refuses every change`;
  const style = `<style>body::after { content: ${JSON.stringify(notice)}; position: fixed; left: 0; right: 0; bottom: 0;`
    + ' z-index: 2147483647; pointer-events: none; padding: 6px; text-align: center; font: 600 13px/1.4 system-ui, sans-serif;'
    + ' color: #fff; background: #b45309; }</style>';
  const page = readFileSync(pagePath, 'utf8')
    .replace('<title>Prisma Studio</title>', `<title>Prisma Studio · read-only (${environment})</title>`)
    .replace('</head>', `${style}\n  </head>`);
  const emit = http.Server.prototype.emit;
  // @ts-ignore - same signature as the original
  http.Server.prototype.emit = function servePageWithBanner(event, request, response, ...rest) {
    if (event === 'request' && request.method === 'GET' && STUDIO_PAGES.has(request.url)) {
      response.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8', 'Cache-Control': 'no-cache' });
      response.end(page);
      return true;
    }
    return emit.call(this, event, request, response, ...rest);
  };
}

/**
 * Studio creates its Prisma Client with errorFormat 'colorless', which puts
 * in every error the call site, a code frame of the CLI's minified bundle:
 * thousands of characters that Studio's page shows in a modal taller than the
 * screen, its Dismiss button out of reach. The client Studio loads gets
 * errorFormat 'minimal', and an error the database raised says only the
 * database's reason.
 */
function withShortErrors() {
  const require = createRequire(import.meta.url);
  // The runtime Studio requires: next to the CLI that is running (build/index.js).
  const runtimePath = require.resolve(path.resolve(process.argv[1], '../../prisma-client/runtime/library.js'));
  const runtime = require(runtimePath);
  const getPrismaClient = runtime.getPrismaClient;
  /** @param {any} config */
  const getStudioPrismaClient = (config) => class extends getPrismaClient(config) {
    /** @param {any} options */
    constructor(options) {
      super({ ...options, errorFormat: 'minimal' });
    }

    /** @param {any[]} args */
    async _request(...args) {
      try {
        return await super._request(...args);
      } catch (error) {
        throw withDatabaseReason(error);
      }
    }
  };
  /** @type {NodeJS.Module} */ (require.cache[runtimePath]).exports = { ...runtime, getPrismaClient: getStudioPrismaClient };
}

// The engine reports a PostgreSQL error the adapter passed on in Rust's debug
// notation: ... PostgresError { code: "25006", message: "cannot execute ...", ...
const POSTGRES_ERROR = /PostgresError \{ code: "(\w+)", message: "((?:[^"\\]|\\.)*)"/;

/**
 * The error with its message reduced to the database's reason, when the
 * database gave one, else to the message without Prisma's call preamble.
 * @param {any} error
 */
function withDatabaseReason(error) {
  if (!(error instanceof Error)) return error;
  const fromDatabase = error.message.match(POSTGRES_ERROR);
  const reason = fromDatabase
    ? `${JSON.parse(`"${fromDatabase[2]}"`)} (PostgreSQL error ${fromDatabase[1]})`
    : error.message.replace(/^\s*Invalid `[^`]*` invocation:?\s*/, '').trim();
  error.message = reason;
  error.stack = reason;
  return error;
}

/**
 * `acams-db studio` keeps our stdin open for as long as it runs: end Studio
 * when it closes, so that Studio never outlives its launcher (even a killed one).
 */
function exitWhenLauncherExits() {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
