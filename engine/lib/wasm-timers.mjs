// The WebAssembly schema engine starts timeout timers (10 s, 60 s) that it
// never clears; Node exits on success only when the event loop drains, so
// `migrate dev` hung for a minute after finishing, and resolve (schema-engine.mjs)
// for 10 s. Those timers always race real I/O, which keeps the process alive by
// itself: unref them. Imported for its effect, before any engine starts.
const setTimeoutOriginal = globalThis.setTimeout;
// @ts-ignore - same signature as the original
globalThis.setTimeout = function setTimeoutUnrefInWasm(...args) {
  const timer = setTimeoutOriginal.apply(this, /** @type {any} */ (args));
  if (new Error().stack?.includes('wasm://')) timer.unref();
  return timer;
};
