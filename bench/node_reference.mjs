#!/usr/bin/env node
// The reference side of bench/run.py: the same WebAssembly query engine the
// bridge runs, called in-process with JSON-protocol requests (no HTTP, no
// GraphQL translation, no Python). Prints one JSON document of raw timings on
// stdout; run.py computes every statistic, so both paths share one formula.
//
// The database URL comes from DATABASE_URL (never argv, where `ps` shows it).
// Usage: DATABASE_URL=... node bench/node_reference.mjs --iterations 1000 --users 1000 --warmup 50
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WasmQueryEngine, engineVersion } from '../engine/bridge/wasm-engine.mjs';

const schemaPath = path.join(import.meta.dirname, '..', 'schema.prisma');

// The workload; run.py's lookup_email() and upsert_email() must match.
// A prime stride visits the seeded users in a scattered but repeatable order.
const LOOKUP_STRIDE = 7919;
/** @param {number} index @param {number} users */
const lookupEmail = (index, users) => `user-${((index * LOOKUP_STRIDE) % users) + 1}@bench.test`;
/** Every timed upsert creates a new row: no path updates the other's rows. @param {string} tag @param {number} index */
const upsertEmail = (tag, index) => `upsert-${tag}-${index}@bench.test`;

/** @param {string} email */
const findUnique = (email) => ({
  modelName: 'User',
  action: 'findUnique',
  query: { arguments: { where: { email } }, selection: { $scalars: true } },
});

/** @param {string} email @param {string} name */
const upsertOne = (email, name) => ({
  modelName: 'User',
  action: 'upsertOne',
  query: {
    arguments: { where: { email }, create: { email, name }, update: { name } },
    selection: { $scalars: true },
  },
});

/**
 * Execute one request and fail loudly on an engine error: a benchmark of
 * failing queries would time the error path.
 * @param {WasmQueryEngine} engine @param {object} request
 */
async function run(engine, request) {
  const response = await engine.execute(request, undefined);
  if (response.errors) throw new Error(`engine error: ${JSON.stringify(response.errors)}`);
  return response.data;
}

/** A seeded user by email; a miss is an error, as in run.py. @param {WasmQueryEngine} engine @param {string} email */
async function find(engine, email) {
  const { findUniqueUser } = await run(engine, findUnique(email));
  if (!findUniqueUser) throw new Error(`seeded user ${email} not found`);
}

/**
 * Time `count` sequential calls; returns each call's duration in milliseconds.
 * @param {number} count @param {(index: number) => Promise<unknown>} call
 */
async function timed(count, call) {
  const samples = new Array(count);
  for (let index = 0; index < count; index += 1) {
    const started = performance.now();
    await call(index);
    samples[index] = performance.now() - started;
  }
  return samples;
}

async function main() {
  const { values } = parseArgs({
    options: {
      iterations: { type: 'string', default: '1000' },
      users: { type: 'string', default: '1000' },
      warmup: { type: 'string', default: '50' },
      // Each run's upserts create their own rows: run.py runs this reference twice.
      tag: { type: 'string', default: 'node' },
    },
  });
  const [iterations, users, warmup] = [values.iterations, values.users, values.warmup].map(Number);
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set.');

  // The bridge's own default pool size, so that only the transport differs.
  const engine = new WasmQueryEngine({ datamodel: readFileSync(schemaPath, 'utf8'), url });
  await engine.connect();
  try {
    // Warm-up: JIT, the pool's connection, PostgreSQL's plan and buffer caches.
    await timed(warmup, (i) => find(engine, lookupEmail(i, users)));
    const findUniqueMs = await timed(iterations, (i) => find(engine, lookupEmail(i, users)));

    await timed(warmup, (i) => run(engine, upsertOne(upsertEmail(`${values.tag}-warmup`, i), `Warm-up ${i}`)));
    const upsertStarted = performance.now();
    const upsertMs = await timed(iterations, (i) => run(engine, upsertOne(upsertEmail(values.tag, i), `Node ${i}`)));
    const upsertTotalMs = performance.now() - upsertStarted;

    process.stdout.write(`${JSON.stringify({
      engine: await engineVersion(),
      node: process.version,
      find_unique_ms: findUniqueMs,
      upsert_ms: upsertMs,
      upsert_total_ms: upsertTotalMs,
    })}\n`);
  } finally {
    await engine.disconnect();
  }
}

main().catch((error) => {
  process.stderr.write(`node_reference: ${error.stack ?? error}\n`);
  process.exit(1);
});
