// The native query engine's HTTP interface, served on loopback, translating
// each request for the WebAssembly engine.
import http from 'node:http';
import { BridgeMetrics } from './metrics.mjs';
import { ProtocolError, graphqlResponse, modelNames, requestJson, translateQuery } from './protocol.mjs';
import { TransactionApiError } from './wasm-engine.mjs';

const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;
// How long after its own timeout a transaction id is still remembered.
const TRANSACTION_GRACE_MS = 60_000;
const TRANSACTION_NOT_FOUND =
  "Transaction API error: Transaction not found. Transaction ID is invalid, refers to an old closed transaction Prisma doesn't have information about anymore, or was obtained before disconnecting.";

/**
 * The native engine's answer to an unknown transaction id (P2028). The
 * WebAssembly engine panics on some malformed ids instead, so the bridge
 * answers for it.
 */
function transactionNotFound() {
  return { errors: [{ error: TRANSACTION_NOT_FOUND, user_facing_error: { is_panic: false, message: TRANSACTION_NOT_FOUND, meta: { error: TRANSACTION_NOT_FOUND }, error_code: 'P2028' } }] };
}

class HttpError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * The handler of the bridge's HTTP requests, for an `http.Server`.
 * @param {{ engine: import('./wasm-engine.mjs').WasmQueryEngine, datamodel: string, maxBodyBytes?: number }} options
 * @returns {(request: http.IncomingMessage, response: http.ServerResponse) => void}
 */
export function bridgeHandler({ engine, datamodel, maxBodyBytes = DEFAULT_MAX_BODY_BYTES }) {
  const models = modelNames(datamodel);
  const metrics = new BridgeMetrics();
  /** @type {Map<string, number>} open transaction id → when to forget it */
  const transactions = new Map();

  /** @param {{ timeout?: number, max_wait?: number }} options */
  async function startTransaction(options) {
    const now = Date.now();
    for (const [id, forgetAt] of transactions) if (forgetAt < now) transactions.delete(id);
    const result = await engine.startTransaction(options);
    if (typeof result?.id === 'string') {
      transactions.set(result.id, now + (options.max_wait ?? 2000) + (options.timeout ?? 5000) + TRANSACTION_GRACE_MS);
    }
    return result;
  }

  /** @param {string} id @param {'commit' | 'rollback'} verb */
  async function endTransaction(id, verb) {
    // A closed id stays known until forgotten: the engine answers "Transaction already closed" as the native one.
    if (!transactions.has(id)) return transactionNotFound();
    const result = verb === 'commit' ? await engine.commitTransaction(id) : await engine.rollbackTransaction(id);
    return result ?? {};
  }

  /** @param {any} body @param {string | undefined} transactionId */
  async function runQuery(body, transactionId) {
    if (transactionId !== undefined && !transactions.has(transactionId)) return transactionNotFound();
    if (Array.isArray(body?.batch)) return runBatch(body, transactionId);
    const { alias, request } = translateQuery(body, models);
    return graphqlResponse(await metrics.measure(() => engine.execute(requestJson(request), transactionId)), alias);
  }

  /** @param {{ batch: any[], transaction?: unknown, isolationLevel?: string }} body @param {string | undefined} transactionId */
  async function runBatch(body, transactionId) {
    const translated = body.batch.map((query) => translateQuery(query, models));
    const transaction = body.transaction
      ? `,"transaction":${JSON.stringify(body.isolationLevel ? { isolationLevel: body.isolationLevel } : {})}`
      : '';
    // Raw queries arrive serialised already (protocol.mjs): the batch is put together as text.
    const request = `{"batch":[${translated.map((query) => requestJson(query.request)).join(',')}]${transaction}}`;
    const response = await metrics.measure(() => engine.execute(request, transactionId));
    if (response.errors) return { errors: response.errors };
    return {
      batchResult: response.batchResult.map((/** @type {any} */ item, /** @type {number} */ index) =>
        graphqlResponse(item, translated[index].alias)),
    };
  }

  /** @param {http.IncomingMessage} request @param {URL} url */
  async function route(request, url) {
    const { pathname } = url;
    if (request.method === 'GET' && pathname === '/status') return { status: 'ok' };
    if (request.method === 'GET' && pathname === '/metrics') {
      const body = await readBody(request, maxBodyBytes);
      const labels = body ? JSON.parse(body) : {};
      return url.searchParams.get('format') === 'prometheus' ? metrics.prometheus(labels) : metrics.json(labels);
    }
    if (request.method !== 'POST') throw new HttpError(404, `No route for ${request.method} ${pathname}.`);
    const body = parseJson(await readBody(request, maxBodyBytes));
    if (pathname === '/') {
      const transactionId = request.headers['x-transaction-id'];
      return runQuery(body, Array.isArray(transactionId) ? transactionId[0] : transactionId);
    }
    if (pathname === '/transaction/start') return startTransaction(body ?? {});
    const match = /^\/transaction\/([^/]+)\/(commit|rollback)$/.exec(pathname);
    if (match) return endTransaction(decodeURIComponent(match[1]), /** @type {'commit' | 'rollback'} */ (match[2]));
    throw new HttpError(404, `No route for POST ${pathname}.`);
  }

  return (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    route(request, url).then(
      (result) => send(response, 200, result),
      (error) => {
        if (error instanceof TransactionApiError) return send(response, error.status, error.body);
        const status = error instanceof HttpError ? error.status : error instanceof ProtocolError ? 400 : 500;
        send(response, status, { errors: [{ error: String(error.message ?? error), user_facing_error: { is_panic: false, message: String(error.message ?? error) } }] });
      },
    );
  };
}

/** @param {string} text */
function parseJson(text) {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'The request body is not valid JSON.');
  }
}

/**
 * @param {http.IncomingMessage} request
 * @param {number} limit
 * @returns {Promise<string>}
 */
function readBody(request, limit) {
  return new Promise((resolve, reject) => {
    /** @type {Buffer[]} */
    const chunks = [];
    let size = 0;
    request.on('data', (/** @type {Buffer} */ chunk) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners('data');
        request.resume();
        reject(new HttpError(413, `The request body exceeds ${limit} bytes.`));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/**
 * @param {http.ServerResponse} response
 * @param {number} status
 * @param {unknown} body
 */
function send(response, status, body) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}
