// The native query engine's HTTP interface, served on loopback, translating
// each request for the WebAssembly engine.
import http from 'node:http';
import { BridgeMetrics } from './metrics.mjs';
import { ProtocolError, graphqlResponse, modelNames, translateQuery } from './protocol.mjs';

const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

class HttpError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * @param {{ engine: import('./wasm-engine.mjs').WasmQueryEngine, datamodel: string, maxBodyBytes?: number }} options
 */
export function createBridgeServer({ engine, datamodel, maxBodyBytes = DEFAULT_MAX_BODY_BYTES }) {
  const models = modelNames(datamodel);
  const metrics = new BridgeMetrics();

  /** @param {any} body @param {string | undefined} transactionId */
  async function runQuery(body, transactionId) {
    if (Array.isArray(body?.batch)) return runBatch(body, transactionId);
    const { alias, request } = translateQuery(body, models);
    return graphqlResponse(await metrics.measure(() => engine.execute(request, transactionId)), alias);
  }

  /** @param {{ batch: any[], transaction?: unknown, isolationLevel?: string }} body @param {string | undefined} transactionId */
  async function runBatch(body, transactionId) {
    const translated = body.batch.map((query) => translateQuery(query, models));
    const request = {
      batch: translated.map((query) => query.request),
      ...(body.transaction ? { transaction: body.isolationLevel ? { isolationLevel: body.isolationLevel } : {} } : {}),
    };
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
    if (pathname === '/transaction/start') return engine.startTransaction(body ?? {});
    const match = /^\/transaction\/([^/]+)\/(commit|rollback)$/.exec(pathname);
    if (match) {
      const [, id, verb] = match;
      const result = verb === 'commit' ? await engine.commitTransaction(id) : await engine.rollbackTransaction(id);
      return result ?? {};
    }
    throw new HttpError(404, `No route for POST ${pathname}.`);
  }

  return http.createServer({ keepAlive: true }, (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    route(request, url).then(
      (result) => send(response, 200, result),
      (error) => {
        const status = error instanceof HttpError ? error.status : error instanceof ProtocolError ? 400 : 500;
        send(response, status, { errors: [{ error: String(error.message ?? error), user_facing_error: { is_panic: false, message: String(error.message ?? error) } }] });
      },
    );
  });
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
