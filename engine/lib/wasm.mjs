// Loading Prisma's engines compiled to WebAssembly. Node 20 cannot import a
// .wasm file as a module: instantiate it by hand with the generated glue as
// its import object.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** @type {string | undefined} */
let lastPanicMessage;
// The engines' panic hook reports its message here before the wasm traps.
// @ts-ignore - a global the engines' glue code expects
globalThis.PRISMA_WASM_PANIC_REGISTRY = { set_message: (/** @type {string} */ message) => { lastPanicMessage = message; } };

/** The query engine's glue module: PostgreSQL build, for the bridge and for Studio. */
export const QUERY_ENGINE = '@prisma/query-engine-wasm/postgresql/query_engine_bg.js';

/** @type {Map<string, Promise<any>>} */
const loaded = new Map();

/**
 * The glue module of a wasm-bindgen package, its wasm instantiated.
 * @param {string} gluePath e.g. QUERY_ENGINE
 */
export function loadWasmGlue(gluePath) {
  if (!loaded.has(gluePath)) loaded.set(gluePath, instantiate(gluePath));
  return /** @type {Promise<any>} */ (loaded.get(gluePath));
}

/** @param {string} gluePath */
async function instantiate(gluePath) {
  const gluePathResolved = require.resolve(gluePath);
  const glue = await import(gluePathResolved);
  const bytes = await readFile(gluePathResolved.replace(/\.js$/, '.wasm'));
  const importName = `./${gluePathResolved.split('/').at(-1)}`;
  const { instance } = await WebAssembly.instantiate(bytes, { [importName]: glue });
  glue.__wbg_set_wasm(instance.exports);
  // @ts-ignore - wasm-bindgen's start function
  instance.exports.__wbindgen_start?.();
  return glue;
}

/**
 * Run an engine call, turning a wasm trap into an error that carries the panic message.
 * @template T
 * @param {() => Promise<T>} operation
 * @returns {Promise<T>}
 */
export async function withPanicMessage(operation) {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof WebAssembly.RuntimeError && lastPanicMessage) {
      throw new Error(`Prisma engine panicked: ${lastPanicMessage}`);
    }
    throw error;
  }
}
