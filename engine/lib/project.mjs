// Where the project's pieces are, and the database URL of the current
// environment. Python's settings module is the one authority on the URL: when
// the caller has not resolved it already, ask it (it may start the embedded
// PostgreSQL server).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'pg-connection-string';
import { DATABASE_RESOLVED_VARIABLE } from './contract.mjs';

export const engineDir = path.dirname(import.meta.dirname);
const repositoryRoot = path.dirname(engineDir);
export const queryEngineBridge = path.join(engineDir, 'bin', 'query-engine.mjs');
export const projectPython = path.join(repositoryRoot, '.venv', 'bin', 'python');

export const SHADOW_IS_MAIN = 'SHADOW_DATABASE_URL names the database itself; the shadow database is emptied before each use: give it a database of its own.';

/**
 * Whether two URLs name the same schema of the same database, whatever the user.
 * @param {string} first
 * @param {string} second
 */
export function isSameDatabase(first, second) {
  const place = (/** @type {string} */ url) => {
    const { host, port, database, schema } = /** @type {any} */ (parse(url));
    return `${host ?? 'localhost'}:${port ?? 5432}/${database}/${schema ?? 'public'}`;
  };
  return place(first) === place(second);
}

export class SetupError extends Error {
  /**
   * @param {string} message
   * @param {number | undefined} [exitCode] the exit code of the acams-db command that failed, which said why
   */
  constructor(message, exitCode) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * The database URLs for this process: from the environment when the Python
 * toolchain resolved them, else from the project's settings.
 * @param {NodeJS.ProcessEnv} env
 * @returns {{ url: string, shadowUrl: string | undefined }}
 */
export function resolveDatabaseUrls(env = process.env) {
  const urls = env[DATABASE_RESOLVED_VARIABLE] === '1' && env.DATABASE_URL
    ? { url: env.DATABASE_URL, shadowUrl: env.SHADOW_DATABASE_URL || undefined }
    : projectDatabaseUrls();
  // The schema engine hides an adapter's error behind "External error id#0": say it before it starts.
  if (urls.shadowUrl && isSameDatabase(urls.shadowUrl, urls.url)) throw new SetupError(SHADOW_IS_MAIN);
  return urls;
}

/**
 * Ask `acams-db` for the current environment's database (it reads the .env
 * files and starts the embedded server when that is the one configured).
 * @returns {{ url: string, shadowUrl: string | undefined }}
 */
export function projectDatabaseUrls() {
  const resolved = askProject(['internal-database-url'], 'Could not resolve the database URL');
  return { url: resolved.url, shadowUrl: resolved.shadow_url ?? undefined };
}

/**
 * Run `acams-db ARGUMENTS` with the project's Python and parse the JSON it
 * prints on a pipe; its messages go to our stderr.
 * @param {string[]} args
 * @param {string} failure what went wrong, for the error when the command fails
 * @returns {any}
 */
export function askProject(args, failure) {
  if (!existsSync(projectPython)) {
    throw new SetupError(`The project's Python environment is missing (${projectPython}). Run: make install`);
  }
  let output;
  try {
    output = execFileSync(projectPython, ['-m', 'acams_db', ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
  } catch (error) {
    throw new SetupError(`${failure} (see the message above).`, /** @type {any} */ (error).status ?? undefined);
  }
  return JSON.parse(output);
}
