// Drives Prisma Studio in the system's Chromium (playwright-core, headless):
// opens a model, waits for a text from the database, saves a screenshot and
// edits nothing. Any request to another origin than Studio's is a failure.
// Prints a JSON summary (timings in seconds) on stdout; exits 1 on failure.
//
//   node tests/studio/browse.mjs --url URL --model Question --text "..." \
//     --screenshot PATH --chromium /usr/bin/chromium --profile DIR
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values: options } = parseArgs({
  options: {
    url: { type: 'string' },
    model: { type: 'string' },
    text: { type: 'string' },
    screenshot: { type: 'string' },
    chromium: { type: 'string' },
    profile: { type: 'string' },
  },
});
for (const name of ['url', 'model', 'text', 'screenshot', 'chromium', 'profile']) {
  if (!options[/** @type {keyof typeof options} */ (name)]) throw new Error(`--${name} is required`);
}
const url = /** @type {string} */ (options.url);
const TIMEOUT_MS = 30_000;

// Chromium quiet and offline: no background requests, updates, sync or first-run pages.
const CHROMIUM_ARGS = [
  '--no-sandbox', // CI runs as root
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  // Chromium's own services still look up Google hosts (sign-in, autofill,
  // updates): no name resolves in this browser, so nothing leaves the machine.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

const started = performance.now();
const seconds = () => Number(((performance.now() - started) / 1000).toFixed(2));
/** @type {Record<string, number>} */
const timings = {};
/** @type {string[]} */
const foreignRequests = [];

const context = await chromium.launchPersistentContext(/** @type {string} */ (options.profile), {
  executablePath: options.chromium,
  headless: true,
  args: CHROMIUM_ARGS,
  viewport: { width: 1400, height: 800 },
});
try {
  timings.launched = seconds();
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(TIMEOUT_MS);
  const studioOrigin = new URL(url).origin;
  page.on('request', (request) => {
    const { origin, protocol } = new URL(request.url());
    if (origin !== studioOrigin && protocol !== 'data:' && protocol !== 'blob:') foreignRequests.push(request.url());
  });

  await page.goto(url);
  const modelLink = page.getByText(/** @type {string} */ (options.model), { exact: true });
  await modelLink.waitFor();
  timings.studioLoaded = seconds();

  await modelLink.click();
  await page.getByText(/** @type {string} */ (options.text)).first().waitFor();
  timings.rowsShown = seconds();

  await page.screenshot({ path: options.screenshot });
  if (foreignRequests.length) throw new Error(`requests left Studio's origin: ${foreignRequests.join(', ')}`);
} finally {
  await context.close();
}
timings.total = seconds();
console.log(JSON.stringify({ timings }));
