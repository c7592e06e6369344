#!/usr/bin/env node
// The reference side of bench/run.py: the same WebAssembly query engine the
// bridge runs, called in-process (no HTTP, no Python). It executes exactly the
// requests the bridge gives the engine for Prisma Client Python's calls: run.py
// sends the client's own request bodies, translated here before the clock
// starts, so that both paths run the same query with the same selection.
//
// Driven by run.py over stdin, one JSON line per round, so that its rounds
// alternate with the client's and both see the same load on a shared machine:
//   {"bodies": ["<Prisma Client Python's request body>", ...]}
// answered on stdout with one line {"ms": [<each call's duration>, ...]}. The
// first line out is {"engine": ..., "node": ...} once the engine is connected.
// run.py computes every statistic, so both paths share one formula.
//
// The database URL comes from DATABASE_URL (never argv, where `ps` shows it).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { modelNames, translateQuery } from '../engine/bridge/protocol.mjs';
import { WasmQueryEngine, engineVersion } from '../engine/bridge/wasm-engine.mjs';

const schemaPath = path.join(import.meta.dirname, '..', 'schema.prisma');

/**
 * Execute one request and fail loudly on an engine error or a missing row: a
 * benchmark of failing queries would time the error path.
 * @param {WasmQueryEngine} engine @param {object} request
 */
async function run(engine, request) {
  const response = await engine.execute(request, undefined);
  if (response.errors) throw new Error(`engine error: ${JSON.stringify(response.errors)}`);
  const [result] = Object.values(response.data);
  if (result === null) throw new Error(`no row for ${JSON.stringify(request)}`);
}

/**
 * Time each request in sequence; returns each call's duration in milliseconds.
 * @param {WasmQueryEngine} engine @param {object[]} requests
 */
async function timed(engine, requests) {
  const samples = new Array(requests.length);
  for (const [index, request] of requests.entries()) {
    const started = performance.now();
    await run(engine, request);
    samples[index] = performance.now() - started;
  }
  return samples;
}

async function main() {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set.');
  const datamodel = readFileSync(schemaPath, 'utf8');
  const models = modelNames(datamodel);
  // The bridge's own default pool size, so that only the transport differs.
  const engine = new WasmQueryEngine({ datamodel, url });
  await engine.connect();
  try {
    process.stdout.write(`${JSON.stringify({ engine: engineVersion(), node: process.version })}\n`);
    for await (const line of createInterface({ input: process.stdin })) {
      const { bodies } = JSON.parse(line);
      // The engine's JSON-protocol requests, as the bridge translates them (engine/bridge/server.mjs).
      const requests = bodies.map((/** @type {string} */ body) => translateQuery(JSON.parse(body), models).request);
      process.stdout.write(`${JSON.stringify({ ms: await timed(engine, requests) })}\n`);
    }
  } finally {
    await engine.disconnect();
  }
}

main().catch((error) => {
  process.stderr.write(`node_reference: ${error.stack ?? error}\n`);
  process.exit(1);
});
