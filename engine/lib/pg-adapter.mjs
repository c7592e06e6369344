// The PostgreSQL driver adapter shared by the Prisma CLI (schema engine) and
// the query engine bridge. Every workaround for @prisma/adapter-pg 6.19 and the
// WebAssembly engines lives here, each naming its upstream issue.
import pg from 'pg';
import { parse } from 'pg-connection-string';
import { PrismaPg } from '@prisma/adapter-pg';
import { ColumnTypeEnum, DriverAdapterError } from '@prisma/driver-adapter-utils';
import { APPLICATION_NAME_VARIABLE, LOCK_NOT_AVAILABLE, LOCK_RETRIES_VARIABLE, LOCK_TIMEOUT_VARIABLE, STATEMENT_TIMEOUT_VARIABLE } from './contract.mjs';
import { SHADOW_IS_MAIN, isSameDatabase } from './project.mjs';

const CHAR_OID = 18;
const NAME_OID = 19;
const TEXT_OID = 25;
const MONEY_OID = 790;
const MONEY_ARRAY_OID = 791;
const TEXT_ARRAY_OID = 1009;
// OIDs below this are PostgreSQL's own types; a schema's enums and their arrays are above.
const FIRST_NORMAL_OBJECT_ID = 16384;
const parseTextArray = pg.types.getTypeParser(TEXT_ARRAY_OID);

// PostgreSQL 18 lists NOT NULL constraints in pg_constraint (contype 'n'); the
// 6.19 schema engine's denylist lets them through and then panics. Apply the
// upstream fix (allowlist) to the query text: prisma/orm#29635, prisma-engines#5819.
const CONSTRAINTS_DENYLIST = "contype NOT IN ('p', 'u', 'f')";
const CONSTRAINTS_ALLOWLIST = "contype IN ('c', 'x')";

const CHAR_COLUMNS = Symbol('indexes of "char" columns');
const ENUM_ARRAY_COLUMNS = Symbol('indexes of columns holding arrays of enums');

/** @param {any} result */
function mapInternalTypesToText(result) {
  for (const part of Array.isArray(result) ? result : [result]) {
    /** @type {number[]} */
    const charColumns = [];
    (part?.fields ?? []).forEach((/** @type {any} */ field, /** @type {number} */ index) => {
      if (field.dataTypeID === CHAR_OID) charColumns.push(index);
      if (field.dataTypeID === NAME_OID || field.dataTypeID === CHAR_OID) field.dataTypeID = TEXT_OID;
    });
    if (part && charColumns.length) part[CHAR_COLUMNS] = charColumns;
  }
  return result;
}

// Every connection shows money as `-$1,234.56` (lc_monetary C), whatever the server's locale: the native
// engine reads money in binary, as a number; adapter-pg hands the engine the locale's text, which it cannot
// read (P2023). Set per connection, before any other query (see watchForDeadClient).
const MONEY_IN_C_LOCALE = "SET lc_monetary = 'C'";
/** @param {string} money e.g. `-$1,234.56` */
const moneyToDecimal = (money) => money.replace(/[$,]/g, '');
/** @type {Record<number, (text: string) => unknown>} */
const MONEY_PARSERS = {
  [MONEY_OID]: moneyToDecimal,
  [MONEY_ARRAY_OID]: (text) => parseTextArray(text).map((/** @type {string | null} */ item) => item === null ? null : moneyToDecimal(item)),
};

/**
 * A query config whose type parsers read money as a plain decimal (adapter-pg's drops the first character only).
 * @param {any} config
 */
function withMoneyParsers(config) {
  const getTypeParser = config?.types?.getTypeParser;
  if (typeof getTypeParser !== 'function') return config;
  return {
    ...config,
    types: { getTypeParser: (/** @type {number} */ oid, /** @type {string} */ format) => (format === 'text' && MONEY_PARSERS[oid]) || getTypeParser(oid, format) },
  };
}

/**
 * Whether each type OID above FIRST_NORMAL_OBJECT_ID is an array of an enum, per database. adapter-pg reads
 * types it does not know as text: a raw query's `"Role"[]` column came back as `'{admin,editor}'` where the
 * native engine returns a list. Enum OIDs are the database's own, so they are learnt from pg_type, once each.
 * @type {Map<string, Map<number, boolean>>}
 */
const enumArrayTypes = new Map();
const ENUM_ARRAY_TYPES_QUERY =
  "SELECT t.oid::int AS oid, (t.typcategory = 'A' AND e.typtype = 'e') AS enum_array FROM pg_type t LEFT JOIN pg_type e ON e.oid = t.typelem WHERE t.oid = ANY($1::oid[])";

/**
 * Parse the columns of `result` that hold arrays of enums, and mark them for withEnumArrayColumns().
 * @param {pg.Client} client the connection that ran the query (its transaction, if any, is still usable)
 * @param {any} result
 */
async function parseEnumArrays(client, result) {
  const fields = result?.fields;
  if (!Array.isArray(fields) || !fields.some((/** @type {any} */ field) => field.dataTypeID >= FIRST_NORMAL_OBJECT_ID)) return result;
  const { host, port, database } = /** @type {any} */ (client).connectionParameters ?? {};
  const databaseKey = `${host}:${port}/${database}`;
  const known = enumArrayTypes.get(databaseKey) ?? new Map();
  enumArrayTypes.set(databaseKey, known);
  const unknown = [...new Set(fields.map((/** @type {any} */ field) => field.dataTypeID))].filter((oid) => oid >= FIRST_NORMAL_OBJECT_ID && !known.has(oid));
  if (unknown.length) {
    const { rows } = await pg.Client.prototype.query.call(client, ENUM_ARRAY_TYPES_QUERY, [unknown]);
    for (const oid of unknown) known.set(oid, false);
    for (const row of rows) known.set(row.oid, row.enum_array);
  }
  /** @type {number[]} */
  const enumArrayColumns = [];
  fields.forEach((/** @type {any} */ field, /** @type {number} */ index) => {
    if (known.get(field.dataTypeID)) enumArrayColumns.push(index);
  });
  if (!enumArrayColumns.length) return result;
  for (const row of result.rows) {
    for (const index of enumArrayColumns) {
      const key = Array.isArray(row) ? index : fields[index].name;
      if (typeof row[key] === 'string') row[key] = parseTextArray(row[key]);
    }
  }
  result[ENUM_ARRAY_COLUMNS] = enumArrayColumns;
  return result;
}

// adapter-pg 6.19 cannot deserialize the catalogue types `name` and `"char"`
// that the schema engine's introspection returns (prisma/orm#27403, fixed in
// adapter-pg 7): the pg client reports them as text, and withMarkedColumnTypes()
// restores `"char"` as a Character column, which the engine reads with
// get_expect_char (constraint types; it panicked on check constraints).
class CatalogueFriendlyClient extends pg.Client {
  /** @param {any[]} args */
  // @ts-ignore - one override for pg's callback and promise overloads
  query(...args) {
    const [first] = args;
    if (first && typeof first === 'object' && typeof first.text === 'string' && first.text.includes(CONSTRAINTS_DENYLIST)) {
      args[0] = { ...first, text: first.text.replace(CONSTRAINTS_DENYLIST, CONSTRAINTS_ALLOWLIST) };
    }
    args[0] = withMoneyParsers(args[0]);
    const callback = typeof args.at(-1) === 'function' ? args.pop() : null;
    if (callback) {
      // @ts-ignore
      return super.query(...args, (/** @type {any} */ error, /** @type {any} */ result) => {
        if (error) return callback(error, result);
        parseEnumArrays(this, mapInternalTypesToText(result)).then((parsed) => callback(null, parsed), callback);
      });
    }
    // @ts-ignore
    const pending = super.query(...args);
    return pending && typeof pending.then === 'function'
      ? pending.then((/** @type {any} */ result) => parseEnumArrays(this, mapInternalTypesToText(result)))
      : pending;
  }
}

/**
 * adapter-pg's executeScript splits a migration on every `;` and runs the
 * pieces one by one: not atomic, and wrong for a `;` inside a string or a
 * function body. Send the script whole instead: PostgreSQL runs a
 * multi-statement simple query as one implicit transaction, as Prisma's native
 * engine does.
 * @param {any} adapter
 */
function withAtomicScripts(adapter) {
  const limits = migrationLimits(process.env);
  adapter.executeScript = async (/** @type {string} */ script) => {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await runLimited(adapter.underlyingDriver(), script, limits);
        return;
      } catch (error) {
        // The whole script rolled back: trying it again later is safe.
        if (/** @type {any} */ (error)?.code === LOCK_NOT_AVAILABLE && attempt < limits.retries) {
          await new Promise((resolve) => setTimeout(resolve, RETRY_BASE_MS * 2 ** attempt));
          continue;
        }
        adapter.onError(withSqlstate(error));
      }
    }
  };
  return adapter;
}

/**
 * A migration script's database error with its SQLSTATE in the message: the 6.19 WebAssembly schema engine
 * shows only the message ("Error querying the database: ERROR: canceling statement due to lock timeout"), in
 * the CLI's error and in Prisma's record, where acams-db deploy reads the code (55P03: lock_not_available).
 * @param {unknown} error
 */
function withSqlstate(error) {
  if (error instanceof pg.DatabaseError && typeof error.code === 'string') {
    error.message = `${error.message} (SQLSTATE ${error.code})`;
  }
  return error;
}

// acams-db deploy limits each migration script outside development: how long
// it may wait for a lock, how long it may run. Set on the script's connection
// for the script only, never for the schema engine's wait on its advisory lock
// (where concurrent deploys take turns). Separate queries, not a prefix: a
// script of one CREATE INDEX CONCURRENTLY must stay outside a transaction. A
// script that cannot take its locks in time fails with 55P03, and is retried.
const RETRY_BASE_MS = 500;

/** @param {NodeJS.ProcessEnv} env */
function migrationLimits(env) {
  const literal = (/** @type {string} */ value) => `'${value.replaceAll("'", "''")}'`;
  const settings = /** @type {[string, string][]} */ ([
    ['lock_timeout', env[LOCK_TIMEOUT_VARIABLE] ?? ''],
    ['statement_timeout', env[STATEMENT_TIMEOUT_VARIABLE] ?? ''],
  ]).filter(([, value]) => value);
  return {
    set: settings.map(([name, value]) => `SET ${name} = ${literal(value)};`).join(' '),
    reset: settings.map(([name]) => `RESET ${name};`).join(' '),
    retries: Number(env[LOCK_RETRIES_VARIABLE] ?? 0),
  };
}

/**
 * @param {pg.Pool} pool
 * @param {string} script
 * @param {{ set: string, reset: string }} limits
 */
async function runLimited(pool, script, { set, reset }) {
  if (!set) return pool.query(script);
  const client = await pool.connect();
  try {
    await client.query(set);
    return await client.query(script);
  } finally {
    await client.query(reset).then(() => client.release(), (/** @type {Error} */ error) => client.release(error));
  }
}

/**
 * The column types adapter-pg cannot tell: `"char"` columns (Character) and arrays of enums (EnumArray).
 * @param {any} queryable an adapter or one of its transactions
 */
function withMarkedColumnTypes(queryable) {
  const performIO = queryable.performIO.bind(queryable);
  const queryRaw = queryable.queryRaw.bind(queryable);
  /** @type {WeakMap<object, any>} */
  const resultOf = new WeakMap();
  queryable.performIO = async (/** @type {any} */ query) => {
    const result = await performIO(query);
    if (result?.[CHAR_COLUMNS] || result?.[ENUM_ARRAY_COLUMNS]) resultOf.set(query, result);
    return result;
  };
  queryable.queryRaw = async (/** @type {any} */ query) => {
    const resultSet = await queryRaw(query);
    const result = resultOf.get(query);
    for (const index of result?.[CHAR_COLUMNS] ?? []) resultSet.columnTypes[index] = ColumnTypeEnum.Character;
    for (const index of result?.[ENUM_ARRAY_COLUMNS] ?? []) resultSet.columnTypes[index] = ColumnTypeEnum.EnumArray;
    return resultSet;
  };
  return queryable;
}

/**
 * adapter-pg 6.19 maps a few SQLSTATEs itself, differently from the native
 * engine: a NOT NULL violation (23502) comes without its column ("Null
 * constraint failed:" in a deploy; the column is in PostgreSQL's `column`
 * field, where adapter-pg does not look). The engines also accept
 * PostgreSQL's error as it is (kind "postgres") and then map it with the
 * native connector's own code (quaint's `From<PostgresError>`): every
 * database error is passed on that way, so codes, messages and meta are the
 * native engine's. Connection and TLS errors keep the adapter's mapping.
 * @param {any} queryable an adapter or one of its transactions
 */
function withNativeErrorMapping(queryable) {
  const onError = queryable.onError.bind(queryable);
  queryable.onError = (/** @type {any} */ error) => {
    if (!(error instanceof pg.DatabaseError) || typeof error.code !== 'string') return onError(error);
    const { code, severity, message, detail, column, hint } = error;
    throw new DriverAdapterError({
      kind: 'postgres', code, severity: severity ?? 'ERROR', message, detail, column, hint,
      originalCode: code, originalMessage: message,
    });
  };
  return queryable;
}

/** @param {any} queryable an adapter or one of its transactions */
function withQueryableWorkarounds(queryable) {
  return withNativeErrorMapping(withMarkedColumnTypes(queryable));
}

/** @param {any} adapter */
function withWorkarounds(adapter) {
  const startTransaction = adapter.startTransaction.bind(adapter);
  adapter.startTransaction = async (/** @type {any[]} */ ...args) => withQueryableWorkarounds(await startTransaction(...args));
  return withAtomicScripts(withQueryableWorkarounds(adapter));
}

/** @param {string} url */
function schemaOf(url) {
  return /** @type {any} */ (parse(url)).schema ?? 'public';
}

/**
 * node-postgres completes what a URL leaves out from PGHOST, PGPORT, PGUSER,
 * PGPASSWORD, PGDATABASE, PGSSLMODE…, read when each connection is made. The
 * toolchain's URLs are complete: acams-db's settings folded those variables in
 * once (settings.py, as libpq would); read again here they could reach
 * another server than the one the guardrails checked. psql and pg_dump run
 * without them too (acams_db/runtime/pg_tools.py).
 */
function forgetLibpqVariables() {
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('PG')) delete process.env[name];
  }
}

/**
 * Pool settings from a URL. Fields, not a connection string: adapter-pg makes
 * the shadow database's pool by overriding `database`, which a
 * connectionString would silently win over.
 * @param {string} url
 * @param {Partial<pg.PoolConfig>} [extra]
 */
function poolFor(url, extra = {}) {
  forgetLibpqVariables();
  const { schema: _schema, ...fields } = /** @type {any} */ (parse(url));
  // Idle connections must not keep a finished CLI command alive.
  // acams-db deploy names its connections, for its monitor to find them.
  const applicationName = process.env[APPLICATION_NAME_VARIABLE] ? { application_name: process.env[APPLICATION_NAME_VARIABLE] } : {};
  const pool = new pg.Pool({ ...fields, ...applicationName, Client: CatalogueFriendlyClient, allowExitOnIdle: true, ...extra });
  pool.on('connect', watchForDeadClient);
  return pool;
}

// A killed deploy must not commit: without this, PostgreSQL runs a migration's
// script to its end (and commits it) before noticing that its client is gone.
// PostgreSQL 14+; older servers reject the setting, which is then left out.
const CLIENT_CHECK_INTERVAL = "SET client_connection_check_interval = '1s'";

/** @param {pg.PoolClient} client */
function watchForDeadClient(client) {
  // pg runs a connection's queries in order: these two come before any the pool's user sends.
  client.query(MONEY_IN_C_LOCALE).catch(() => {});
  client.query(CLIENT_CHECK_INTERVAL).catch(() => {});
}

/**
 * The 6.19 WebAssembly schema engine replays the migrations on a shadow
 * database without emptying it first (its wasm shadow_db.rs has a TODO where
 * the native engine resets an external shadow database), so a second use of
 * SHADOW_DATABASE_URL failed with P3006 ('type "Role" already exists'). Empty
 * its schema as the native engine does, and never the main database's.
 * @param {any} shadow a connected adapter
 * @param {string} shadowUrl
 * @param {string} mainUrl
 */
async function resetShadowDatabase(shadow, shadowUrl, mainUrl) {
  if (isSameDatabase(shadowUrl, mainUrl)) {
    await shadow.dispose();
    throw new Error(SHADOW_IS_MAIN);
  }
  const schema = schemaOf(shadowUrl).replaceAll('"', '""');
  await shadow.executeScript(`DROP SCHEMA IF EXISTS "${schema}" CASCADE; CREATE SCHEMA "${schema}";`);
  return shadow;
}

export class ProjectPgAdapterFactory extends PrismaPg {
  /**
   * @param {string} url the database
   * @param {{ shadowDatabaseUrl?: string, pool?: Partial<pg.PoolConfig> }} [options]
   */
  constructor(url, options = {}) {
    super(poolFor(url, options.pool), { schema: schemaOf(url), disposeExternalPool: true });
    this.url = url;
    this.shadowDatabaseUrl = options.shadowDatabaseUrl;
  }

  async connect() {
    return withWorkarounds(await super.connect());
  }

  // adapter-pg 6.19 connects to the shadow database without the schema option,
  // which makes the schema engine panic; and a user's server may not allow
  // CREATE DATABASE, hence SHADOW_DATABASE_URL.
  async connectToShadowDb() {
    if (this.shadowDatabaseUrl) {
      const shadow = await new ProjectPgAdapterFactory(this.shadowDatabaseUrl).connect();
      return resetShadowDatabase(shadow, this.shadowDatabaseUrl, this.url);
    }
    // A pool of its own: disposing it with the shadow database must not end the engine's main pool, which a
    // long-lived engine (engine/bin/runner.mjs) uses again after a diff.
    const main = await new ProjectPgAdapterFactory(this.url).connect();
    const database = `prisma_migrate_shadow_db_${globalThis.crypto.randomUUID()}`;
    await main.executeScript(`CREATE DATABASE "${database}"`);
    const shadow = await new ProjectPgAdapterFactory(this.url, { pool: { database } }).connect();
    const disposeShadow = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await disposeShadow();
      await main.executeScript(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await main.dispose();
    };
    return shadow;
  }
}
