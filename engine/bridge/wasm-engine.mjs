// The official Prisma query engine (PostgreSQL build, compiled to WebAssembly)
// over the project's pg driver adapter, behind the small interface the bridge
// needs. A move to Prisma 7's query compiler replaces this file only.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { bindAdapter } from '@prisma/driver-adapter-utils';
import { QUERY_ENGINE, loadWasmGlue, withPanicMessage } from '../lib/wasm.mjs';
import { datasourceMetrics } from './metrics.mjs';

const require = createRequire(import.meta.url);

/**
 * The engine commit this build was compiled from: the end of the package's
 * version (6.19.0-26.<commit>). Read without loading the engine, because
 * Prisma Client Python asks for it (--version) before every connection.
 */
export function engineVersion() {
  const packageFile = require.resolve(QUERY_ENGINE).replace(/postgresql\/query_engine_bg\.js$/, 'package.json');
  return JSON.parse(readFileSync(packageFile, 'utf8')).version.split('.').at(-1);
}

/**
 * A failed transaction start, commit or rollback, with the status the native engine's HTTP server gives it
 * (query-engine server, err_to_http_resp): Prisma Client Python reads the status (422: an expired or closed
 * transaction, UnprocessableEntityError), so an expired transaction's commit is not taken for a success.
 */
export class TransactionApiError extends Error {
  /** @param {{ message?: string, error_code?: string }} body the engine's user-facing error */
  constructor(body) {
    super(body.message ?? 'Transaction API error');
    this.body = body;
    const message = body.message ?? '';
    this.status = message.includes('Transaction already closed') ? 422
      : message.includes('Transaction not found') ? 404
        : message.includes('Unable to start a transaction in the given time') ? 504
          : 500;
  }
}

/**
 * The engine's answer to a transaction call, or a TransactionApiError when it is an error.
 * @param {string} answer the engine's JSON
 */
function transactionResult(answer) {
  const result = JSON.parse(answer);
  if (result && typeof result === 'object' && 'error_code' in result && 'message' in result) {
    throw new TransactionApiError(result);
  }
  return result;
}

/**
 * Count and time the SQL statements of an adapter and of its transactions (the native engine's datasource
 * queries).
 * @param {any} queryable an adapter or one of its transactions
 */
function withDatasourceMetrics(queryable) {
  for (const method of ['queryRaw', 'executeRaw']) {
    const original = queryable[method].bind(queryable);
    queryable[method] = (/** @type {unknown} */ query) => datasourceMetrics.measureQuery(() => original(query));
  }
  if (typeof queryable.startTransaction === 'function') {
    const startTransaction = queryable.startTransaction.bind(queryable);
    queryable.startTransaction = async (/** @type {any[]} */ ...args) => withDatasourceMetrics(await startTransaction(...args));
  }
  return queryable;
}

let requestCounter = 0;
const nextRequestId = () => String(++requestCounter);
const NO_TRACE = '{}';

export class WasmQueryEngine {
  /**
   * @param {{ datamodel: string, url: string, logQueries?: boolean, onLog?: (line: string) => void, poolSize?: number }} options
   */
  constructor(options) {
    this.options = options;
    /** @type {any} */
    this.engine = undefined;
  }

  async connect() {
    // The adapter (pg) is imported here, not above: `--version` (engineVersion) needs neither it nor the
    // engine. It loads while the engine compiles.
    const [{ QueryEngine }, { ProjectPgAdapterFactory }] = await Promise.all([
      loadWasmGlue(QUERY_ENGINE),
      import('../lib/pg-adapter.mjs'),
    ]);
    const factory = new ProjectPgAdapterFactory(this.options.url, { pool: { max: this.options.poolSize ?? 10 } });
    this.adapter = withDatasourceMetrics(await factory.connect());
    datasourceMetrics.watchPool(this.adapter.underlyingDriver());
    const onLog = this.options.onLog ?? (() => {});
    this.engine = new QueryEngine(
      { datamodel: this.options.datamodel, logLevel: 'error', logQueries: this.options.logQueries ?? false, enableTracing: false },
      onLog,
      bindAdapter(this.adapter),
    );
    await withPanicMessage(() => this.engine.connect(NO_TRACE, nextRequestId()));
  }

  /**
   * Execute one JSON-protocol request (a query or `{ batch: [...] }`), as an object or as its JSON text.
   * @param {object | string} request
   * @param {string | undefined} transactionId
   * @returns {Promise<any>} the engine's JSON response
   */
  async execute(request, transactionId) {
    const body = typeof request === 'string' ? request : JSON.stringify(request);
    return JSON.parse(await withPanicMessage(() => this.engine.query(body, NO_TRACE, transactionId, nextRequestId())));
  }

  /** @param {object} options `{ max_wait, timeout, isolation_level }` in milliseconds */
  async startTransaction(options) {
    return transactionResult(await withPanicMessage(() => this.engine.startTransaction(JSON.stringify(options), NO_TRACE, nextRequestId())));
  }

  /** @param {string} id */
  async commitTransaction(id) {
    return transactionResult(await withPanicMessage(() => this.engine.commitTransaction(id, NO_TRACE, nextRequestId())));
  }

  /** @param {string} id */
  async rollbackTransaction(id) {
    return transactionResult(await withPanicMessage(() => this.engine.rollbackTransaction(id, NO_TRACE, nextRequestId())));
  }

  async disconnect() {
    if (!this.engine) return;
    await this.engine.disconnect(NO_TRACE, nextRequestId());
    await this.adapter.dispose();
    this.engine = undefined;
  }
}
