// The official Prisma query engine (PostgreSQL build, compiled to WebAssembly)
// over the project's pg driver adapter, behind the small interface the bridge
// needs. A move to Prisma 7's query compiler replaces this file only.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { bindAdapter } from '@prisma/driver-adapter-utils';
import { ProjectPgAdapterFactory } from '../pg-adapter.mjs';

const require = createRequire(import.meta.url);
const wasmDir = path.dirname(require.resolve('@prisma/query-engine-wasm/postgresql/query_engine_bg.js'));

/** @type {string | undefined} */
let lastPanic;
// The engine's panic hook reports its message here before the wasm traps.
// @ts-ignore - a global the engine's glue code expects
globalThis.PRISMA_WASM_PANIC_REGISTRY = { set_message: (/** @type {string} */ message) => { lastPanic = message; } };

/** @type {Promise<any> | undefined} */
let wasmModule;

// Node 20 cannot import a .wasm file as a module: instantiate it by hand with
// the generated glue as its import object.
async function loadWasmModule() {
  const glue = await import(path.join(wasmDir, 'query_engine_bg.js'));
  const bytes = await readFile(path.join(wasmDir, 'query_engine_bg.wasm'));
  const { instance } = await WebAssembly.instantiate(bytes, { './query_engine_bg.js': glue });
  glue.__wbg_set_wasm(instance.exports);
  // @ts-ignore - wasm-bindgen's start function
  instance.exports.__wbindgen_start?.();
  return glue;
}

/** The engine commit this build was compiled from. */
export async function engineVersion() {
  wasmModule ??= loadWasmModule();
  return (await wasmModule).getBuildTimeInfo().commit;
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
    wasmModule ??= loadWasmModule();
    const { QueryEngine } = await wasmModule;
    const factory = new ProjectPgAdapterFactory(this.options.url, { pool: { max: this.options.poolSize ?? 10 } });
    this.adapter = await factory.connect();
    const onLog = this.options.onLog ?? (() => {});
    this.engine = new QueryEngine(
      { datamodel: this.options.datamodel, logLevel: 'error', logQueries: this.options.logQueries ?? false, enableTracing: false },
      onLog,
      bindAdapter(this.adapter),
    );
    await this.call(() => this.engine.connect(NO_TRACE, nextRequestId()));
  }

  /**
   * Execute one JSON-protocol request (a query or `{ batch: [...] }`).
   * @param {object} request
   * @param {string | undefined} transactionId
   * @returns {Promise<any>} the engine's JSON response
   */
  async execute(request, transactionId) {
    const body = JSON.stringify(request);
    return JSON.parse(await this.call(() => this.engine.query(body, NO_TRACE, transactionId, nextRequestId())));
  }

  /** @param {object} options `{ max_wait, timeout, isolation_level }` in milliseconds */
  async startTransaction(options) {
    return JSON.parse(await this.call(() => this.engine.startTransaction(JSON.stringify(options), NO_TRACE, nextRequestId())));
  }

  /** @param {string} id */
  async commitTransaction(id) {
    return JSON.parse(await this.call(() => this.engine.commitTransaction(id, NO_TRACE, nextRequestId())));
  }

  /** @param {string} id */
  async rollbackTransaction(id) {
    return JSON.parse(await this.call(() => this.engine.rollbackTransaction(id, NO_TRACE, nextRequestId())));
  }

  async disconnect() {
    if (!this.engine) return;
    await this.engine.disconnect(NO_TRACE, nextRequestId());
    await this.adapter.dispose();
    this.engine = undefined;
  }

  /**
   * Run an engine call, turning a wasm trap into an error that carries the panic message.
   * @template T
   * @param {() => Promise<T>} operation
   */
  async call(operation) {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof WebAssembly.RuntimeError && lastPanic) {
        throw new Error(`query engine panicked: ${lastPanic}`);
      }
      throw error;
    }
  }
}
