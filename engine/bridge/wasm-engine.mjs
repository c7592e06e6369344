// The official Prisma query engine (PostgreSQL build, compiled to WebAssembly)
// over the project's pg driver adapter, behind the small interface the bridge
// needs. A move to Prisma 7's query compiler replaces this file only.
import { bindAdapter } from '@prisma/driver-adapter-utils';
import { ProjectPgAdapterFactory } from '../pg-adapter.mjs';
import { loadWasmGlue, withPanicMessage } from '../wasm.mjs';

const QUERY_ENGINE = '@prisma/query-engine-wasm/postgresql/query_engine_bg.js';

/** The engine commit this build was compiled from. */
export async function engineVersion() {
  return (await loadWasmGlue(QUERY_ENGINE)).getBuildTimeInfo().commit;
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
    const { QueryEngine } = await loadWasmGlue(QUERY_ENGINE);
    const factory = new ProjectPgAdapterFactory(this.options.url, { pool: { max: this.options.poolSize ?? 10 } });
    this.adapter = await factory.connect();
    const onLog = this.options.onLog ?? (() => {});
    this.engine = new QueryEngine(
      { datamodel: this.options.datamodel, logLevel: 'error', logQueries: this.options.logQueries ?? false, enableTracing: false },
      onLog,
      bindAdapter(this.adapter),
    );
    await withPanicMessage(() => this.engine.connect(NO_TRACE, nextRequestId()));
  }

  /**
   * Execute one JSON-protocol request (a query or `{ batch: [...] }`).
   * @param {object} request
   * @param {string | undefined} transactionId
   * @returns {Promise<any>} the engine's JSON response
   */
  async execute(request, transactionId) {
    const body = JSON.stringify(request);
    return JSON.parse(await withPanicMessage(() => this.engine.query(body, NO_TRACE, transactionId, nextRequestId())));
  }

  /** @param {object} options `{ max_wait, timeout, isolation_level }` in milliseconds */
  async startTransaction(options) {
    return JSON.parse(await withPanicMessage(() => this.engine.startTransaction(JSON.stringify(options), NO_TRACE, nextRequestId())));
  }

  /** @param {string} id */
  async commitTransaction(id) {
    return JSON.parse(await withPanicMessage(() => this.engine.commitTransaction(id, NO_TRACE, nextRequestId())));
  }

  /** @param {string} id */
  async rollbackTransaction(id) {
    return JSON.parse(await withPanicMessage(() => this.engine.rollbackTransaction(id, NO_TRACE, nextRequestId())));
  }

  async disconnect() {
    if (!this.engine) return;
    await this.engine.disconnect(NO_TRACE, nextRequestId());
    await this.adapter.dispose();
    this.engine = undefined;
  }
}
