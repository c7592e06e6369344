// The native query engine's HTTP interface, served on loopback, translating
// each request for the WebAssembly engine. No request can stop it: every
// request is answered inside one error boundary, and bytes that are not HTTP
// get an answer from the server's clientError handler.
import http from 'node:http';
import { finished } from 'node:stream/promises';
import { BridgeMetrics } from './metrics.mjs';
import { TransactionApiError } from './wasm-engine.mjs';

/** The environment variable that sets the request body limit, in bytes. */
const MAX_BODY_VARIABLE = 'ACAMS_BRIDGE_MAX_BODY_BYTES';
// The seed's largest request is about 3 MB (2,000 questions of a 100,000-question bank in one raw query).
const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;

/**
 * What the bridge accepts from a request. Answers beyond them: 413 (body),
 * 414 (target), 431 (request line and headers), 408 (too slow).
 */
const LIMITS = Object.freeze({
  maxHeaderBytes: 16 * 1024,
  maxUrlBytes: 8 * 1024,
  // Prisma Client Python sends each request at once: a request still incomplete after these is abandoned.
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 60_000,
  // A connection that sends no request at all is closed after this (node's own timeouts start at a request's first byte).
  idleConnectionMs: 5_000,
  checkIntervalMs: 1_000,
});

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
  return { errors: [{ error: TRANSACTION_NOT_FOUND, user_facing_error: transactionNotFoundError() }] };
}

function transactionNotFoundError() {
  return { is_panic: false, message: TRANSACTION_NOT_FOUND, meta: { error: TRANSACTION_NOT_FOUND }, error_code: 'P2028' };
}

// The WebAssembly engine's clock does not advance between a transaction's start and its expiry: its message says
// "however 0 ms passed". The bridge, which knows when the transaction started, gives the time that passed.
const NO_TIME_PASSED = /(The timeout for this transaction was \d+ ms, however )0( ms passed since the start of the transaction)/g;

/**
 * @param {any} response the engine's answer to a query in a transaction
 * @param {number} startedAt when the transaction started (Date.now())
 */
function withTimePassed(response, startedAt) {
  if (!response?.errors) return response;
  const passed = Date.now() - startedAt;
  return JSON.parse(JSON.stringify(response).replace(NO_TIME_PASSED, `$1${passed}$2`));
}

class HttpError extends Error {
  /** @param {number} status @param {string} message @param {Record<string, string>} [headers] */
  constructor(status, message, headers = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

/** A client mistake found by the protocol translation (protocol.mjs's ProtocolError): 400. */
class BadRequest extends HttpError {
  /** @param {string} message */
  constructor(message) {
    super(400, message);
  }
}

/**
 * The body limit: ACAMS_BRIDGE_MAX_BODY_BYTES, else 32 MiB.
 * @param {NodeJS.ProcessEnv} environment
 * @returns {number}
 */
export function maxBodyBytes(environment) {
  const configured = environment[MAX_BODY_VARIABLE];
  if (configured === undefined || configured === '') return DEFAULT_MAX_BODY_BYTES;
  if (!/^\d+$/.test(configured) || Number(configured) < 1) {
    throw new Error(`${MAX_BODY_VARIABLE} must be a whole number of bytes above 0, got '${configured}'.`);
  }
  return Number(configured);
}

/**
 * @typedef {(request: http.IncomingMessage, target: { pathname: string, query: string }) => Promise<{ body: unknown }>} Handler
 */

/**
 * The bridge's HTTP server, listening for nothing yet. Requests that arrive
 * before `handler` resolves wait for it (Prisma Client Python's first /status
 * poll is answered the moment the engine is ready).
 * @param {Promise<Handler>} handler
 * @returns {http.Server}
 */
export function createBridgeServer(handler) {
  const server = http.createServer({
    keepAlive: true,
    // Like the native engine (hyper): HTTP/1.1 without Host is served, not refused with node's empty 400.
    requireHostHeader: false,
    maxHeaderSize: LIMITS.maxHeaderBytes,
    headersTimeout: LIMITS.headersTimeoutMs,
    requestTimeout: LIMITS.requestTimeoutMs,
    connectionsCheckingInterval: LIMITS.checkIntervalMs,
  });
  server.on('connection', (/** @type {import('node:net').Socket} */ socket) => {
    const idle = setTimeout(() => socket.destroy(), LIMITS.idleConnectionMs).unref();
    connections.set(socket, { idle, unanswered: 0, whenAnswered: [] });
    socket.once('close', () => clearTimeout(idle));
  });
  server.on('request', (/** @type {http.IncomingMessage} */ request, /** @type {http.ServerResponse} */ response) => {
    const connection = connections.get(request.socket);
    if (connection) {
      clearTimeout(connection.idle);
      connection.unanswered += 1;
      response.once('close', () => {
        connection.unanswered -= 1;
        if (connection.unanswered === 0) connection.whenAnswered.splice(0).forEach((then) => then());
      });
    }
    serve(handler, request, response).catch(() => response.destroy());
  });
  server.on('clientError', answerClientError);
  // node closes a CONNECT request's connection without a word unless it is handled.
  server.on('connect', (/** @type {http.IncomingMessage} */ _request, /** @type {import('node:stream').Duplex} */ socket) => {
    answerRaw(socket, 405, 'Method Not Allowed', `Method CONNECT is not allowed; the bridge is not a proxy.`);
  });
  return server;
}

/**
 * The error boundary: whatever the handler throws or rejects becomes an HTTP answer.
 * @param {Promise<Handler>} handler
 * @param {http.IncomingMessage} request
 * @param {http.ServerResponse} response
 */
async function serve(handler, request, response) {
  try {
    const target = requestTarget(request.url ?? '');
    const handle = await handler;
    const { body } = await handle(request, target);
    send(response, 200, body);
  } catch (error) {
    if (response.headersSent) {
      response.destroy();
      return;
    }
    // The engine's own answer to a failed transaction call, with the native engine's status.
    if (error instanceof TransactionApiError) {
      send(response, error.status, error.body);
      return;
    }
    const status = error instanceof HttpError ? error.status : 500;
    // Clients send their whole body before they read: the rest of an oversized one is read and dropped first.
    if (status === 413) await finished(request).catch(() => {});
    send(response, status, errorBody(error instanceof Error ? error.message : String(error)), error instanceof HttpError ? error.headers : {});
  }
}

/**
 * The path and query of a request target in origin form (`/path?query`) or
 * absolute form (`http://host/path`), without decoding: the native engine
 * matches raw paths too.
 * @param {string} url
 */
function requestTarget(url) {
  if (url.length > LIMITS.maxUrlBytes) throw new HttpError(414, `The request target is longer than ${LIMITS.maxUrlBytes} bytes.`);
  const absolute = /^https?:\/\/[^/?#]*/i.exec(url);
  const originForm = absolute ? url.slice(absolute[0].length) || '/' : url;
  if (!originForm.startsWith('/')) throw new HttpError(400, `Invalid request target '${url.slice(0, 100)}': expected a path such as /status.`);
  const question = originForm.indexOf('?');
  return question === -1
    ? { pathname: originForm, query: '' }
    : { pathname: originForm.slice(0, question), query: originForm.slice(question + 1) };
}

/** @param {string} message */
function errorBody(message) {
  return { errors: [{ error: message, user_facing_error: { is_panic: false, message } }] };
}

/**
 * The handler of the bridge's routes, once the engine is connected.
 * @param {{ engine: import('./wasm-engine.mjs').WasmQueryEngine, datamodel: string, maxBodyBytes: number }} options
 * @returns {Promise<Handler>}
 */
export async function bridgeHandler({ engine, datamodel, maxBodyBytes }) {
  // Loaded only to serve: Prisma Client Python runs `--version` before every connection.
  const { ProtocolError, graphqlResponse, modelNames, requestJson, translateQuery } = await import('./protocol.mjs');
  const models = modelNames(datamodel);
  const metrics = new BridgeMetrics();
  /** @type {Map<string, { startedAt: number, forgetAt: number }>} transaction id → when it started, when to forget it */
  const transactions = new Map();

  /** @param {unknown} body */
  async function startTransaction(body) {
    const options = transactionOptions(body);
    const now = Date.now();
    for (const [id, { forgetAt }] of transactions) if (forgetAt < now) transactions.delete(id);
    const result = await engine.startTransaction(options);
    if (typeof result?.id === 'string') {
      // The engine's timeout runs from here: once it has the connection and began.
      const startedAt = Date.now();
      transactions.set(result.id, { startedAt, forgetAt: startedAt + options.timeout + TRANSACTION_GRACE_MS });
    }
    return result;
  }

  /** @param {string} id @param {'commit' | 'rollback'} verb */
  async function endTransaction(id, verb) {
    // A closed id stays known until forgotten: the engine answers "Transaction already closed" as the native one.
    // The native engine answers an unknown id with 404 here (err_to_http_resp), and with 200 on a query.
    if (!transactions.has(id)) throw new TransactionApiError(transactionNotFoundError());
    const result = verb === 'commit' ? await engine.commitTransaction(id) : await engine.rollbackTransaction(id);
    return result ?? {};
  }

  /** @param {any} body @param {string | undefined} transactionId */
  async function runQuery(body, transactionId) {
    if (transactionId === undefined) return runRequest(body, undefined);
    const transaction = transactions.get(transactionId);
    if (!transaction) return transactionNotFound();
    return withTimePassed(await runRequest(body, transactionId), transaction.startedAt);
  }

  /** @param {any} body @param {string | undefined} transactionId */
  async function runRequest(body, transactionId) {
    if (body !== null && typeof body === 'object' && 'batch' in body) return runBatch(body, transactionId);
    const { alias, request } = translate(body);
    return graphqlResponse(await metrics.measure(() => engine.execute(requestJson(request), transactionId)), alias);
  }

  /** @param {any} body @param {string | undefined} transactionId */
  async function runBatch(body, transactionId) {
    if (!Array.isArray(body.batch)) throw new BadRequest('Expected "batch" to be an array of {"query": ...} objects.');
    if (body.transaction !== undefined && typeof body.transaction !== 'boolean') throw new BadRequest('Expected "transaction" to be true or false.');
    if (body.isolationLevel !== undefined && typeof body.isolationLevel !== 'string') throw new BadRequest('Expected "isolationLevel" to be a string.');
    // The native engine answers an empty batch itself; the WebAssembly engine answers it with nothing.
    if (body.batch.length === 0) return { batchResult: [] };
    const translated = body.batch.map(translate);
    const transaction = body.transaction
      ? `,"transaction":${JSON.stringify(body.isolationLevel ? { isolationLevel: body.isolationLevel } : {})}`
      : '';
    // Raw queries arrive serialised already (protocol.mjs): the batch is put together as text.
    const request = `{"batch":[${translated.map((/** @type {any} */ query) => requestJson(query.request)).join(',')}]${transaction}}`;
    const response = await metrics.measure(() => engine.execute(request, transactionId));
    if (response.errors) return { errors: response.errors };
    return {
      batchResult: response.batchResult.map((/** @type {any} */ item, /** @type {number} */ index) =>
        graphqlResponse(item, translated[index].alias)),
    };
  }

  /** @param {unknown} query */
  function translate(query) {
    try {
      return translateQuery(/** @type {any} */ (query), models);
    } catch (error) {
      // Deeply nested input can exhaust the stack in the translation: also the client's mistake.
      if (error instanceof ProtocolError || error instanceof RangeError) throw new BadRequest(error.message);
      throw error;
    }
  }

  /** @param {http.IncomingMessage} request @param {string} query */
  async function answerMetrics(request, query) {
    const labels = metricLabels(parseJson(await readBody(request, maxBodyBytes)));
    const format = new URLSearchParams(query).get('format');
    return format === 'prometheus' ? { body: metrics.prometheus(labels) } : { body: metrics.json(labels) };
  }

  /** @type {Handler} */
  return async (request, { pathname, query }) => {
    const method = request.method ?? '';
    if (pathname === '/status') {
      allow(method, 'GET');
      return { body: { status: 'ok' } };
    }
    if (pathname === '/metrics') {
      allow(method, 'GET, POST');
      return answerMetrics(request, query);
    }
    const transactionPath = /^\/transaction\/(?:(start)|([^/]+)\/(commit|rollback))$/.exec(pathname);
    if (pathname !== '/' && !transactionPath) throw new HttpError(404, `No route for ${method} ${pathname.slice(0, 100)}.`);
    allow(method, 'POST');
    const body = parseJson(await readBody(request, maxBodyBytes));
    if (pathname === '/') return { body: await runQuery(body, transactionIdHeader(request)) };
    if (transactionPath?.[1]) return { body: await startTransaction(body) };
    const [, , id, verb] = /** @type {RegExpExecArray} */ (transactionPath);
    return { body: await endTransaction(id, /** @type {'commit' | 'rollback'} */ (verb)) };
  };
}

/**
 * @param {string} method
 * @param {string} allowed e.g. 'GET, POST'
 */
function allow(method, allowed) {
  if (!allowed.split(', ').includes(method)) {
    throw new HttpError(405, `Method ${method} is not allowed here; allowed: ${allowed}.`, { allow: allowed });
  }
}

/** @param {http.IncomingMessage} request */
function transactionIdHeader(request) {
  const id = request.headers['x-transaction-id'];
  return Array.isArray(id) ? id[0] : id;
}

/**
 * `/transaction/start`'s body, as the native engine reads it: `{ max_wait, timeout, isolation_level? }`.
 * @param {unknown} body
 * @returns {{ max_wait: number, timeout: number, isolation_level?: string }}
 */
function transactionOptions(body) {
  const options = /** @type {Record<string, unknown>} */ (body ?? {});
  const milliseconds = (/** @type {unknown} */ value) => Number.isSafeInteger(value) && /** @type {number} */ (value) >= 0;
  const valid = typeof options === 'object' && !Array.isArray(options)
    && milliseconds(options.max_wait) && milliseconds(options.timeout)
    && (options.isolation_level === undefined || typeof options.isolation_level === 'string');
  if (!valid) {
    throw new BadRequest('Expected {"max_wait": <milliseconds>, "timeout": <milliseconds>} and optionally "isolation_level": <string>.');
  }
  return /** @type {{ max_wait: number, timeout: number, isolation_level?: string }} */ (options);
}

/**
 * The global labels of a metrics request: an object of strings.
 * @param {unknown} body
 * @returns {Record<string, string>}
 */
function metricLabels(body) {
  if (body === undefined || body === null) return {};
  const valid = typeof body === 'object' && !Array.isArray(body) && Object.values(body).every((value) => typeof value === 'string');
  if (!valid) throw new BadRequest('Expected the metrics labels as a JSON object of strings.');
  return /** @type {Record<string, string>} */ (body);
}

/** @param {string} text */
function parseJson(text) {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = /** @type {Error} */ (error).message;
    // V8 names the position of most errors; at the end of the input it does not.
    const where = /position \d+/.test(reason) || !reason.includes('end of JSON') ? '' : ` at position ${text.length}`;
    throw new BadRequest(`The request body is not valid JSON: ${reason}${where}.`);
  }
}

/**
 * The request body as text; 413 as soon as it is known to exceed `limit`
 * bytes, without keeping more than `limit` bytes. The rest of an oversized
 * body is read and dropped.
 * @param {http.IncomingMessage} request
 * @param {number} limit
 * @returns {Promise<string>}
 */
function readBody(request, limit) {
  const tooLarge = () => new HttpError(413, `The request body exceeds the bridge's limit of ${limit} bytes (${MAX_BODY_VARIABLE} sets it).`);
  const malformed = malformedBodies.get(request);
  if (malformed || Number(request.headers['content-length']) > limit) {
    request.resume();
    return Promise.reject(malformed ?? tooLarge());
  }
  return new Promise((resolve, reject) => {
    bodyReaders.set(request, reject);
    /** @type {Buffer[]} */
    let chunks = [];
    let size = 0;
    request.on('data', (/** @type {Buffer} */ chunk) => {
      if (size > limit) return;
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
      } else {
        chunks = [];
        reject(tooLarge());
      }
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/**
 * @param {http.ServerResponse} response
 * @param {number} status
 * @param {unknown} body
 * @param {Record<string, string>} [headers]
 */
function send(response, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

// What node's HTTP parser reports, and the answer: the request line and headers too large, too slow, else malformed.
const CLIENT_ERRORS = /** @type {Record<string, [number, string, string]>} */ ({
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', `The request line and headers exceed ${LIMITS.maxHeaderBytes} bytes.`],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'The request did not arrive in time.'],
  HPE_INVALID_EOF_STATE: [400, 'Bad Request', 'The connection ended before the request did (its body is shorter than announced).'],
});
// After answering a request it could not parse, the bridge closes the connection at the latest after this.
const CLIENT_ERROR_LINGER_MS = 1_000;
/**
 * Each connection: its timer until a first request, and the requests on it still unanswered.
 * @type {WeakMap<import('node:net').Socket, { idle: NodeJS.Timeout, unanswered: number, whenAnswered: (() => void)[] }>}
 */
const connections = new WeakMap();
/** Requests whose body node's parser rejected (a bad chunk size…), and their answer. */
const malformedBodies = /** @type {WeakMap<http.IncomingMessage, HttpError>} */ (new WeakMap());
/** The body being read of each request, to end it with that answer. */
const bodyReaders = /** @type {WeakMap<http.IncomingMessage, (error: HttpError) => void>} */ (new WeakMap());

/**
 * node's 'clientError': bytes that are not an HTTP request, or a request too
 * large or too slow. Answered with JSON when the connection can still carry an
 * answer (after the answer in progress on it, if any), then closed.
 * @param {Error & { code?: string }} error
 * @param {import('node:stream').Duplex} socket
 */
function answerClientError(error, socket) {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, message] = CLIENT_ERRORS[error.code ?? ''] ?? [400, 'Bad Request', `Malformed HTTP request: ${error.message}`];
  const parsing = /** @type {http.IncomingMessage | undefined} */ (/** @type {any} */ (socket).parser?.incoming);
  if (parsing && !parsing.complete) {
    // The error is in the body of a request already handed to the handler: it answers, then the connection closes.
    const refusal = new HttpError(status, message, { connection: 'close' });
    malformedBodies.set(parsing, refusal);
    bodyReaders.get(parsing)?.(refusal);
    afterAnswers(socket, () => socket.destroy());
    return;
  }
  // Pipelined requests before the bad bytes are answered first, in order.
  afterAnswers(socket, () => answerRaw(socket, status, reason, message));
}

/**
 * Run `then` once every request received on `socket` is answered.
 * @param {import('node:stream').Duplex} socket
 * @param {() => void} then
 */
function afterAnswers(socket, then) {
  const connection = connections.get(/** @type {import('node:net').Socket} */ (socket));
  if (connection?.unanswered) connection.whenAnswered.push(then);
  else then();
}

/**
 * Answer on a connection that node's HTTP server no longer handles, and close it.
 * @param {import('node:stream').Duplex} socket
 * @param {number} status
 * @param {string} reason
 * @param {string} message
 */
function answerRaw(socket, status, reason, message) {
  if (!socket.writable) return;
  const text = JSON.stringify(errorBody(message));
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
  setTimeout(() => socket.destroy(), CLIENT_ERROR_LINGER_MS).unref();
}
