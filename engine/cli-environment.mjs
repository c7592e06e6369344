// Loaded by prisma.config.ts, so it runs inside every Prisma CLI process
// (ours, and `prisma ...` typed in the activated environment) before the CLI
// looks for engines.
import path from 'node:path';
import { engineDir, queryEngineBridge } from './project.mjs';

// The CLI checks at start-up that native engines exist and downloads them if
// not; no machine here reaches Prisma's binary host. With engine 'js' the
// schema engine is WebAssembly, and the query engine is our bridge, so point the
// native-engine variables at a file that exists and is never executed.
const neverExecuted = path.join(engineDir, 'native-engine-placeholder');
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= neverExecuted;
process.env.PRISMA_QUERY_ENGINE_LIBRARY ??= neverExecuted;
process.env.PRISMA_QUERY_ENGINE_BINARY ??= queryEngineBridge;
// The update check waits about a minute for a host it cannot reach.
process.env.CHECKPOINT_DISABLE ??= '1';
process.env.PRISMA_HIDE_UPDATE_MESSAGE ??= '1';

// The WebAssembly schema engine starts timeout timers (10 s, 60 s) that it
// never clears; the CLI exits on success only when the event loop drains, so
// `migrate dev` hung for a minute after finishing. Those timers always race
// real I/O, which keeps the process alive by itself: unref them.
const setTimeoutOriginal = globalThis.setTimeout;
// @ts-ignore - same signature as the original
globalThis.setTimeout = function setTimeoutUnrefInWasm(...args) {
  const timer = setTimeoutOriginal.apply(this, /** @type {any} */ (args));
  if (new Error().stack?.includes('wasm://')) timer.unref();
  return timer;
};
