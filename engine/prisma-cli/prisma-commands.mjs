// `prisma ...` typed by hand (the activated environment's `prisma`, `npx
// prisma`) runs prisma.config.ts, hence this module, before the CLI does
// anything else. The commands that have an `acams-db` operation are handed to
// it, so that both ways share one implementation and the same guardrails
// (environment refusals exit 4); the others get the current environment's
// database, which Prisma's own .env loading would not find (a config file
// turns it off). Prisma processes started by acams-db itself are left alone.
import { spawnSync } from 'node:child_process';
import { DATABASE_RESOLVED_VARIABLE } from '../lib/contract.mjs';
import { SetupError, askProject, projectPython } from '../lib/project.mjs';
import { resolveTypedStudio } from './studio.mjs';

// The schema's `url = env("DATABASE_URL")` is never used under the driver
// adapter, but Prisma 6.19 validates that the variable exists: these commands,
// which connect to nothing, get a host name that can never resolve (RFC 2606).
const SCHEMA_ONLY_COMMANDS = new Set(['validate', 'generate']);
const NO_DATABASE_NEEDED = 'postgresql://no-database-needed.invalid/unused';
// Prisma's commands that connect to the database through the adapter.
const DATABASE_COMMANDS = new Set(['migrate status', 'migrate diff', 'db pull']);
// Commands of two words: `prisma migrate dev`, `prisma db seed`.
const GROUPS = new Set(['migrate', 'db']);
const USAGE = 2;
const REFUSED = 4;

class Refusal extends Error {
  /** @param {string} message @param {number} exitCode */
  constructor(message, exitCode) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * The Prisma commands acams-db runs: each turns Prisma's options into acams-db's
 * arguments, and throws Refusal for an option acams-db has no equivalent for.
 * @type {Record<string, (options: ParsedOptions) => string[]>}
 */
const HANDED_TO_ACAMS_DB = {
  // `make migrate name=x`: our folder naming, the manifest, the client regenerated.
  'migrate dev': (options) => {
    const name = options.take('--name', '-n');
    const createOnly = options.flag('--create-only');
    options.flag('--skip-seed'); // nothing to skip: acams-db migrate never resets the database, so never seeds
    options.finish('make migrate name=NAME');
    if (!name) {
      throw new Refusal('prisma migrate dev needs --name NAME here (make migrate name=NAME); to apply pending migrations: make deploy', USAGE);
    }
    return ['migrate', name, ...(createOnly ? ['--create-only'] : [])];
  },
  'migrate deploy': (options) => {
    options.finish('make deploy');
    return ['deploy'];
  },
  'migrate reset': (options) => {
    const force = options.flag('--force', '-f');
    const skipSeed = options.flag('--skip-seed');
    options.finish('make reset');
    return ['reset', ...(force ? ['--force'] : []), ...(skipSeed ? ['--no-seed'] : [])];
  },
  // Prisma's own resolve spawns the native schema engine, which is not installed.
  'migrate resolve': (options) => {
    const rolledBack = options.take('--rolled-back');
    const applied = options.take('--applied');
    options.finish('make resolve name=NAME as=rolled-back|applied');
    if (Boolean(rolledBack) === Boolean(applied)) {
      throw new Refusal('prisma migrate resolve needs one of --rolled-back NAME or --applied NAME (make resolve name=NAME as=rolled-back|applied)', USAGE);
    }
    return rolledBack ? ['resolve', rolledBack, '--as', 'rolled-back'] : ['resolve', /** @type {string} */ (applied), '--as', 'applied'];
  },
};

// Options by which `migrate diff` would read a database itself: Prisma 6.19 refuses them under a driver adapter
// (https://pris.ly/d/schema-engine-limitations), in several lines and with exit 0.
const DIFF_DATABASE_OPTIONS = ['--from-url', '--to-url', '--from-schema-datasource', '--to-schema-datasource', '--shadow-database-url'];
const DIFF_DATABASE_REFUSAL = 'cannot read a database with the driver adapter this project runs on (Prisma 6.19, https://pris.ly/d/schema-engine-limitations). '
  + 'To compare the database with the migrations and schema.prisma: make status (its drift check). '
  + 'To diff files: --from-migrations prisma_migrations, --from-schema-datamodel schema.prisma, --from-empty (and their --to- forms).';

const REFUSED_COMMANDS = {
  'db push': 'prisma db push changes the database without a migration and is refused here: make migrate name=NAME',
  'db execute': 'prisma db execute needs the native schema engine, which this project does not install: put the SQL in a migration (make migrate-data name=NAME)',
};

/**
 * Prepare the Prisma CLI process for the command in `argv`: hand it to acams-db
 * (and exit with its code), refuse it, or give it the database to use.
 * @param {string[]} argv the CLI's arguments (process.argv without node and the script)
 * @param {NodeJS.ProcessEnv} env
 */
export function prepareTypedCommand(argv = process.argv.slice(2), env = process.env) {
  if (env[DATABASE_RESOLVED_VARIABLE] === '1') return; // started by acams-db, which resolved the database
  const words = argv.filter((argument) => !argument.startsWith('-'));
  const command = GROUPS.has(words[0]) ? words.slice(0, 2).join(' ') : (words[0] ?? '');
  if (argv.includes('--help') || argv.includes('-h')) return;
  try {
    if (command in REFUSED_COMMANDS) throw new Refusal(REFUSED_COMMANDS[/** @type {keyof REFUSED_COMMANDS} */ (command)], REFUSED);
    const databaseOption = command === 'migrate diff' && argv.find((argument) => DIFF_DATABASE_OPTIONS.includes(argument.split('=')[0]));
    if (databaseOption) throw new Refusal(`prisma migrate diff ${databaseOption.split('=')[0]} ${DIFF_DATABASE_REFUSAL}`, REFUSED);
    const handOver = HANDED_TO_ACAMS_DB[command];
    if (handOver) process.exit(runAcamsDb(handOver(new ParsedOptions(command, argv.slice(2)))));
    if (command === 'studio') {
      env.DATABASE_URL = resolveTypedStudio();
    } else if (DATABASE_COMMANDS.has(command)) {
      const resolved = askProject(['internal-database-url'], 'Could not resolve the database URL');
      Object.assign(env, { DATABASE_URL: resolved.url, [DATABASE_RESOLVED_VARIABLE]: '1' });
      if (resolved.shadow_url) env.SHADOW_DATABASE_URL = resolved.shadow_url;
    } else if (SCHEMA_ONLY_COMMANDS.has(command)) {
      env.DATABASE_URL ??= NO_DATABASE_NEEDED;
    }
  } catch (error) {
    if (!(error instanceof Refusal || error instanceof SetupError)) throw error;
    // acams-db has said why it failed (a refusal exits 4): its exit code is the command's.
    if (error instanceof SetupError && error.exitCode) process.exit(error.exitCode);
    process.stderr.write(`error: ${error.message}\n`);
    process.exit(error.exitCode ?? 1);
  }
}

/**
 * Run `acams-db ARGUMENTS` in the foreground (it may ask on the terminal) and
 * return its exit code. It dies with this process, however this one ends.
 * @param {string[]} args
 */
function runAcamsDb(args) {
  const program = 'import sys; from acams_db.runtime.processes import die_with_parent; die_with_parent(int(sys.argv.pop(1)));'
    + ' from acams_db.cli.main import main; sys.argv[0] = "acams-db"; main()';
  // Ctrl+C reaches acams-db as well (same process group): it stops in its own way, then this process exits.
  process.on('SIGINT', () => {});
  const result = spawnSync(projectPython, ['-c', program, String(process.pid), ...args], { stdio: 'inherit' });
  if (result.error) throw new SetupError(`Could not start acams-db (${result.error.message}). Run: make install`);
  return result.status ?? 128 + (result.signal === 'SIGINT' ? 2 : 15);
}

/** The options after `prisma WORD WORD`, taken one by one; what is left is refused. */
class ParsedOptions {
  /** @param {string} command e.g. 'migrate dev' @param {string[]} argv */
  constructor(command, argv) {
    this.command = command;
    this.rest = [...argv];
  }

  /**
   * The value of an option given as `--name value`, `--name=value` or an alias.
   * @param {...string} names
   * @returns {string | undefined}
   */
  take(...names) {
    for (const [index, argument] of this.rest.entries()) {
      const [key, inline] = argument.split(/=(.*)/s, 2);
      if (!names.includes(key)) continue;
      const value = inline ?? this.rest[index + 1];
      if (value === undefined || value.startsWith('-')) throw new Refusal(`prisma ${this.command}: ${key} needs a value`, USAGE);
      this.rest.splice(index, inline === undefined ? 2 : 1);
      return value;
    }
    return undefined;
  }

  /** @param {...string} names @returns {boolean} whether any of these flags was given */
  flag(...names) {
    const before = this.rest.length;
    this.rest = this.rest.filter((argument) => !names.includes(argument));
    return this.rest.length < before;
  }

  /** @param {string} makeTarget the make target that does the same */
  finish(makeTarget) {
    if (this.rest.length) {
      throw new Refusal(`prisma ${this.command}: ${this.rest.join(' ')} is not supported here, where it runs ${makeTarget}`, USAGE);
    }
  }
}
