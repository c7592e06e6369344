// Drives Prisma Studio in the system's Chromium (playwright-core, headless):
// opens a model, waits for a text from the database and saves a screenshot.
// With --edit, it changes that text and saves, expecting the database to
// refuse: the error dialog must show --expect-error with its Dismiss button on
// screen, and close with it (second screenshot, --error-screenshot).
// Any request to another origin than Studio's is a failure. Prints a JSON
// summary (timings in seconds, the read-only band's text) on stdout; exits 1
// on failure.
//
//   node tests/studio/browse.mjs --url URL --model Question --text "..." \
//     --screenshot PATH --chromium /usr/bin/chromium --profile DIR \
//     [--edit VALUE --expect-error TEXT --error-screenshot PATH]
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
    edit: { type: 'string' },
    'expect-error': { type: 'string' },
    'error-screenshot': { type: 'string' },
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
/** @type {string | null} */
let readOnlyBand = null;

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
  const modelLink = page.getByTestId('model-list').getByText(/** @type {string} */ (options.model), { exact: true });
  await modelLink.waitFor();
  timings.studioLoaded = seconds();

  await modelLink.click();
  await page.getByText(/** @type {string} */ (options.text)).first().waitFor();
  timings.rowsShown = seconds();

  await page.screenshot({ path: options.screenshot });
  // engine/prisma-cli/studio.mjs draws it as the body's ::after on a read-only database.
  const band = await page.evaluate(() => getComputedStyle(document.body, '::after').content);
  readOnlyBand = band === 'none' ? null : JSON.parse(band);

  if (options.edit !== undefined) {
    await editAndExpectRefusal(page, /** @type {string} */ (options.text), options.edit);
    timings.errorDismissed = seconds();
  }
  if (foreignRequests.length) throw new Error(`requests left Studio's origin: ${foreignRequests.join(', ')}`);
} finally {
  await context.close();
}
timings.total = seconds();
console.log(JSON.stringify({ timings, readOnlyBand }));

/**
 * Change the cell showing `text` to `value`, save, and check the database's
 * refusal: a dialog with the expected reason whose Dismiss button is on
 * screen and closes it.
 * @param {import('playwright-core').Page} page
 * @param {string} text
 * @param {string} value
 */
async function editAndExpectRefusal(page, text, value) {
  const expected = options['expect-error'];
  if (!expected || !options['error-screenshot']) throw new Error('--edit needs --expect-error and --error-screenshot');
  await page.getByText(text, { exact: true }).first().dblclick();
  await page.keyboard.press('Control+A');
  await page.keyboard.type(value);
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: /^Save 1 change$/ }).click();
  const reason = page.getByText(expected);
  await reason.waitFor();
  const dismiss = page.getByRole('button', { name: 'Dismiss' });
  const box = await dismiss.boundingBox();
  const viewport = /** @type {{ width: number, height: number }} */ (page.viewportSize());
  if (!box || box.y < 0 || box.y + box.height > viewport.height || box.x + box.width > viewport.width) {
    throw new Error(`the Dismiss button is off-screen: ${JSON.stringify(box)} in ${JSON.stringify(viewport)}`);
  }
  await page.screenshot({ path: options['error-screenshot'] });
  await dismiss.click();
  await reason.waitFor({ state: 'hidden' });
}
