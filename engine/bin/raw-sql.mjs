#!/usr/bin/env node
// Run SQL statements through the Prisma query engine (queryRaw) and print the
// results as JSON: how the Python toolchain reads Prisma's bookkeeping without
// a second database driver. Input on stdin: {"statements": [{"sql", "parameters"}]};
// the database is DATABASE_URL. Output: one {columns, types, rows} per statement.
import { text } from 'node:stream/consumers';
import { WasmQueryEngine } from '../bridge/wasm-engine.mjs';

const DATASOURCE_ONLY = 'datasource db {\n  provider = "postgresql"\n  url      = env("DATABASE_URL")\n}\n';

async function main() {
  const { statements } = JSON.parse(await text(process.stdin));
  const engine = new WasmQueryEngine({ datamodel: DATASOURCE_ONLY, url: String(process.env.DATABASE_URL), poolSize: 1 });
  await engine.connect();
  try {
    const results = [];
    for (const { sql, parameters = [] } of statements) {
      const response = await engine.execute(
        { action: 'queryRaw', query: { arguments: { query: sql, parameters: JSON.stringify(parameters) }, selection: {} } },
        undefined,
      );
      if (response.errors) throw new Error(response.errors.map((/** @type {any} */ e) => e.user_facing_error?.message ?? e.error).join('\n'));
      results.push(response.data.queryRaw);
    }
    process.stdout.write(JSON.stringify(results));
  } finally {
    await engine.disconnect();
  }
}

main().catch((error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
