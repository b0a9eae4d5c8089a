// End-to-end tests: the built server (all roles) and the Shopify simulator on
// free ports, a fresh database, Debian's Chromium through playwright-core.
// Run after `make build`:  node e2e/run.mjs   (from web/). Screenshots go to
// test-artifacts/screenshots/. Exits non-zero, naming the failed step.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(web, '..');
const shots = join(root, 'test-artifacts', 'screenshots');
const logs = join(root, 'test-artifacts', 'e2e-logs');
mkdirSync(shots, { recursive: true });
mkdirSync(logs, { recursive: true });

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const suffix = randomBytes(4).toString('hex');
const dbName = `ordermill_e2e_${suffix}`;
const baseDb = process.env.ORDERMILL_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/ordermill?sslmode=disable';
const withDb = (url, name) => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
};
const SHOP = 'e2e-shop.myshopify.com';
const SECRET = `e2e-secret-${suffix}`;
const PASSWORD = 'correct horse battery';
const users = {
  owner: { email: 'owner@e2e.test', name: 'Olive Owner', role: 'owner', password: PASSWORD },
  auditor: { email: 'auditor@e2e.test', name: 'Avery Auditor', role: 'auditor', password: PASSWORD },
};

const children = [];
let browser;
let failures = 0;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function start(name, cmd, args, env) {
  const out = createWriteStream(join(logs, `${name}.log`));
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  child.on('exit', (code, signal) => {
    if (!child.stopping) console.error(`  ! ${name} exited (${code ?? signal}); see test-artifacts/e2e-logs/${name}.log`);
  });
  children.push(child);
  return child;
}

async function waitFor(what, fn, timeoutMs = 30_000, everyMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

// axe-core runs inside each page; serious and critical violations fail the step.
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const axeResults = [];

async function checkA11y(page, name) {
  // Evaluated through the debugging protocol: the app's CSP rightly refuses inline scripts.
  await page.evaluate(axeSource);
  const { violations } = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const blocking = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  axeResults.push({ page: name, violations: violations.map((v) => `${v.id} (${v.impact}, ${v.nodes.length})`) });
  if (blocking.length > 0) {
    throw new Error(`axe on ${name}: ${blocking.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`).join('; ')}`);
  }
}

/** An access token for who, from the API the app uses, to set up data quickly. */
async function apiToken(api, who) {
  const res = await fetch(`${api}/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ shop: SHOP, email: who.email, password: who.password }),
  });
  if (!res.ok) throw new Error(`login ${who.email}: ${res.status}`);
  return (await res.json()).access_token;
}

async function apiCall(api, token, method, path, body, headers = {}) {
  const res = await fetch(`${api}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json();
}

const steps = [];
function step(name, fn) {
  steps.push({ name, fn });
}

async function main() {
  for (const bin of ['bin/ordermill', 'bin/simulator']) {
    if (!existsSync(join(root, bin))) throw new Error(`${bin} is missing: run make build first`);
  }
  if (!existsSync(join(web, 'dist', 'index.html'))) throw new Error('web/dist is empty: run make build first');
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium`);

  const [apiPort, simPort] = await Promise.all([freePort(), freePort()]);
  const api = `http://127.0.0.1:${apiPort}`;
  const sim = `http://127.0.0.1:${simPort}`;
  const env = {
    ORDERMILL_DATABASE_URL: withDb(baseDb, dbName),
    ORDERMILL_DATABASE_READ_URL: '',
    ORDERMILL_STREAM_PREFIX: `ordermill_e2e_${suffix}:`,
    ORDERMILL_HTTP_ADDR: `127.0.0.1:${apiPort}`,
    ORDERMILL_MASTER_KEY: randomBytes(32).toString('base64'),
    ORDERMILL_DATA_DIR: mkdtempSync(join(tmpdir(), 'ordermill-e2e-')),
    ORDERMILL_SHOPIFY_API_URL: sim,
    ORDERMILL_SES_ENDPOINT: sim,
    ORDERMILL_LOG_LEVEL: 'info',
  };
  console.log(`e2e: database ${dbName}, server ${api}, simulator ${sim}`);

  start('simulator', join(root, 'bin/simulator'), ['--addr', `127.0.0.1:${simPort}`], {});
  start('server', join(root, 'bin/ordermill'), ['serve'], env);
  await waitFor('the simulator', async () => (await fetch(`${sim}/_sim/admin/calls`)).ok);
  await waitFor('the server to be ready', async () => (await fetch(`${api}/readyz`)).ok, 60_000);

  execFileSync('go', ['run', '-tags', 'e2e', './web/e2e/seed'], {
    cwd: root,
    env: { ...process.env, ...env },
    input: JSON.stringify({ shop: SHOP, currency: 'USD', secret: SECRET, access_token: `shpat_${suffix}`, users: Object.values(users) }),
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  await fetch(`${sim}/_sim/shops`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ shop: SHOP, access_token: `shpat_${suffix}` }),
  });

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const ctx = { api, sim, browser };
  for (const s of steps) {
    const t0 = Date.now();
    try {
      await s.fn(ctx);
      console.log(`  ok   ${s.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failures++;
      console.error(`  FAIL ${s.name}: ${e.message}`);
      if (ctx.page) await ctx.page.screenshot({ path: join(shots, `FAILED-${s.name.replace(/\W+/g, '-')}.png`), fullPage: true }).catch(() => {});
    }
  }
}

async function newPage(ctx) {
  const context = await ctx.browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (e) => console.error(`    page error: ${e.message}`));
  ctx.page = page;
  return page;
}

async function signIn(page, api, who) {
  await page.goto(`${api}/login`);
  await page.getByLabel('Shop').fill(SHOP);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

const shot = (page, name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

step('wrong password shows an error', async (ctx) => {
  const page = await newPage(ctx);
  await signIn(page, ctx.api, { ...users.owner, password: 'wrong password!' });
  await page.getByRole('alert').filter({ hasText: 'incorrect' }).waitFor();
  await shot(page, '01-login-error');
  await page.context().close();
});

step('owner signs in; simulated webhooks appear as orders without reload', async (ctx) => {
  const page = await newPage(ctx);
  await signIn(page, ctx.api, users.owner);
  await page.waitForURL('**/orders');
  await page.getByRole('heading', { name: 'Orders' }).waitFor();
  const before = await page.locator('table tbody tr').count();
  await page.evaluate(() => { window.__sameDocument = true; });
  const res = await fetch(`${ctx.sim}/_sim/runs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ scenario: 'orders', shop: SHOP, secret: SECRET, target: ctx.api, seed: 7, orders: 12, malformed_pct: 15 }),
  });
  if (!res.ok) throw new Error(`simulator run: ${res.status} ${await res.text()}`);
  await waitFor('orders to appear in the list', async () => (await page.locator('table tbody tr a').count()) >= 5, 45_000);
  if (!(await page.evaluate(() => window.__sameDocument === true))) throw new Error('the page reloaded');
  ctx.ownerPage = page;
  console.log(`    rows before ${before}, after ${await page.locator('table tbody tr a').count()}`);
  await shot(page, '02-orders');
  await checkA11y(page, '/orders');
});

step('order detail shows the timeline', async (ctx) => {
  const page = ctx.ownerPage;
  await page.locator('table tbody tr a').first().click();
  await page.getByRole('heading', { name: /^Order / }).waitFor();
  await page.getByRole('list', { name: 'Order history' }).locator('li').first().waitFor();
  await page.getByText('order.placed').first().waitFor();
  await shot(page, '03-order-detail');
  await checkA11y(page, '/orders/:id');
  await page.getByRole('button', { name: 'View order at this point' }).first().click();
  // The order as it stood after its first event, rebuilt by the server.
  await page.locator('.time-travel .order-summary').waitFor();
  await shot(page, '04-time-travel');
});

step('cancelling an order releases its stock', async (ctx) => {
  const page = ctx.ownerPage;
  // Find an open, unfulfilled order through the API the page uses.
  // Any order that shipped nothing and is not cancelled yet can be cancelled.
  let link;
  for (const status of ['placed', 'paid']) {
    await page.goto(`${ctx.api}/orders?fulfillment_status=unfulfilled&status=${status}`);
    await page.locator('table tbody tr').first().waitFor();
    link = page.locator('table tbody tr a').first();
    if (await link.count()) break;
  }
  if (!(await link.count())) throw new Error('no unfulfilled, uncancelled order to cancel');
  await link.click();
  await page.getByRole('heading', { name: /^Order / }).waitFor();
  const sku = (await page.locator('.order-summary tbody tr td').nth(1).innerText()).trim();
  const qty = Number((await page.locator('.order-summary tbody tr td').nth(2).innerText()).trim());
  await page.goto(`${ctx.api}/inventory`);
  const row = page.locator('table tbody tr', { has: page.getByText(sku, { exact: true }) });
  await row.waitFor();
  // Columns: product, key, available, reserved, on hand, backordered, locations.
  const reservedBefore = Number(await row.locator('td').nth(3).innerText());
  await page.goBack();
  await page.getByRole('button', { name: 'Cancel order…' }).click();
  await page.getByLabel('Reason for cancelling').fill('Customer asked to cancel (e2e)');
  await page.getByRole('button', { name: 'Confirm cancellation' }).click();
  await page.locator('.badges').getByText('Cancelled').waitFor();
  await shot(page, '05-order-cancelled');
  await page.goto(`${ctx.api}/inventory`);
  await waitFor(`reserved of ${sku} to drop by ${qty}`, async () => {
    const r = Number(await row.locator('td').nth(3).innerText());
    return r === reservedBefore - qty;
  }, 20_000, 500);
  await shot(page, '06-inventory');
});

step('a failed webhook can be redelivered', async (ctx) => {
  const page = ctx.ownerPage;
  await page.goto(`${ctx.api}/webhooks`);
  await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
  await page.getByLabel('Status').selectOption('failed');
  const button = page.getByRole('button', { name: /^Redeliver webhook/ }).first();
  await waitFor('a failed webhook', async () => (await button.count()) > 0, 30_000, 500);
  await shot(page, '07-webhooks-failed');
  await button.click();
  await page.getByText('Redelivery queued.').waitFor();
  await page.getByLabel('Status').selectOption('');
  await page.locator('table tbody tr a').first().click();
  await page.getByRole('heading', { name: /^Webhook / }).waitFor();
  await shot(page, '08-webhook-detail');
  await checkA11y(page, '/webhooks/:id');
});

step('dashboard, dead letters, settings render for the owner', async (ctx) => {
  const page = ctx.ownerPage;
  for (const [path, heading, name] of [
    ['/dashboard', 'Dashboard', '09-dashboard'],
    ['/dead-letters', 'Recovery', '10-recovery'],
    ['/inventory', 'Inventory', '10b-inventory'],
    ['/webhooks', 'Webhooks', '10c-webhooks'],
    ['/operations', 'Operations', '10d-operations'],
    ['/audit', 'Audit', '10e-audit'],
    ['/emails', 'Emails', '11-emails'],
    ['/reports', 'Reports', '12-reports'],
    ['/settings', 'Settings', '13-settings'],
    ['/no-such-page', 'Page not found', '13c-not-found'],
  ]) {
    await page.goto(`${ctx.api}${path}`);
    await page.getByRole('heading', { name: heading, exact: true }).waitFor();
    await page.waitForLoadState('networkidle').catch(() => {});
    await shot(page, name);
    await checkA11y(page, path);
  }
});

step('money reads in each currency\'s own digits (USD, JPY, HUF, KWD)', async (ctx) => {
  const page = ctx.ownerPage;
  const token = await apiToken(ctx.api, users.owner);
  // The server's own renderings (domain.Money.Decimal) of these amounts.
  const cases = [
    ['USD', 1999, '19.99'],
    ['JPY', 1500, '1,500'],
    ['HUF', 1999, '19.99'], // ISO 4217 gives HUF two digits; Intl's CLDR gives it none
    ['KWD', 12345, '12.345'],
  ];
  for (const [currency, minor, shown] of cases) {
    const order = await apiCall(ctx.api, token, 'POST', '/api/v1/orders', {
      currency, email: `money-${currency.toLowerCase()}@e2e.test`, customer_name: 'Money Check',
      // The USD line names its variant, as Shopify's line items do.
      lines: [{ sku: `E2E-${currency}`, title: `Price check ${currency}`, variant_title: currency === 'USD' ? 'Blue / Large' : undefined, quantity: 1, unit_price: minor }],
    });
    await page.goto(`${ctx.api}/orders/${order.id}`);
    const total = page.locator('.total-strong td');
    await total.waitFor();
    const text = (await total.innerText()).trim();
    if (!text.includes(shown)) throw new Error(`${currency} ${minor} shows as ${text}, want ${shown}`);
    console.log(`    ${currency} ${minor} → ${text}`);
    if (currency === 'HUF') await shot(page, '16-money-huf');
  }
});

step('stock is adjusted from the inventory page', async (ctx) => {
  const page = ctx.ownerPage;
  await page.goto(`${ctx.api}/inventory`);
  const button = page.getByRole('button', { name: 'Adjust E2E-USD' });
  await button.waitFor();
  const row = page.locator('table tbody tr', { has: button });
  const onHand = Number(await row.locator('td').nth(4).innerText());
  // Named "Product — Variant" after the newest order line that sold it, with its SKU.
  const named = (await row.locator('td').first().innerText()).trim();
  if (named !== 'Price check USD — Blue / Large') throw new Error(`the item is named ${named}, not after its product and variant`);
  if ((await row.locator('td').nth(1).innerText()).trim() !== 'E2E-USD') throw new Error('the item does not show its SKU');
  await button.click();
  await page.getByLabel('Change (e.g. 10 or -2)').fill('25');
  await page.getByLabel('Reason').fill('Received purchase order (e2e)');
  await page.getByRole('button', { name: 'Save' }).click();
  await waitFor('on hand to grow by 25', async () => Number(await row.locator('td').nth(4).innerText()) === onHand + 25, 20_000, 300);
  await shot(page, '17-inventory-adjusted');
  // The item's page: its history starts with the adjustment, by whom and why.
  await shot(page, '17a-inventory-variant');
  await row.getByRole('link', { name: 'Price check USD — Blue / Large' }).click();
  await page.getByRole('heading', { name: 'Price check USD — Blue / Large', exact: true }).waitFor();
  const history = page.getByRole('table', { name: 'Stock history, newest first' });
  const first = history.locator('tbody tr').first();
  await first.getByText('+25 on hand').waitFor();
  for (const text of ['Adjusted', 'Received purchase order (e2e)', users.owner.name]) await first.getByText(text, { exact: true }).waitFor();
  // A count from the item's page comes first in its history at once.
  await page.getByRole('button', { name: 'Adjust E2E-USD' }).click();
  await page.getByLabel('Set counted on hand').check();
  await page.getByLabel('Counted on hand', { exact: true }).fill('40');
  await page.getByLabel('Reason').fill('Cycle count (e2e)');
  await page.getByRole('button', { name: 'Save' }).click();
  await first.getByText('on hand set to 40').waitFor();
  await page.locator('.facts dd').filter({ hasText: /^40$/ }).first().waitFor();
  await shot(page, '17b-inventory-item');
  await checkA11y(page, '/inventory/:key');
});

step('an item\'s Shopify stock is listed by location name', async (ctx) => {
  const page = ctx.ownerPage;
  const token = await apiToken(ctx.api, users.owner);
  // Shopify names its locations (locations/update), maps products to stock keys, then reports levels.
  const res = await fetch(`${ctx.sim}/_sim/runs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ scenario: 'inventory', shop: SHOP, secret: SECRET, target: ctx.api, seed: 3, orders: 8 }),
  });
  if (!res.ok) throw new Error(`simulator run: ${res.status} ${await res.text()}`);
  const item = await waitFor('a stock level at a named location', async () => {
    const list = await apiCall(ctx.api, token, 'GET', '/api/v1/inventory?limit=100');
    return list.items.find((i) => i.locations.some((l) => l.name !== ''));
  }, 45_000, 500);
  const named = item.locations.find((l) => l.name !== '');
  await page.goto(`${ctx.api}/inventory/${encodeURIComponent(item.key)}`);
  const table = page.getByRole('table', { name: 'Available at each Shopify location' });
  await table.getByRole('cell', { name: named.name, exact: true }).waitFor();
  await page.getByRole('table', { name: 'Stock history, newest first' }).getByText(`available at ${named.name}`).first().waitFor();
  if ((await table.getByText(/^Location \d+$/).count()) > 0 && item.locations.every((l) => l.name !== '')) throw new Error('a named location shows its id');
  await shot(page, '17c-inventory-locations');
  await checkA11y(page, '/inventory/:key (locations)');
});

step('a sales summary is requested, built and downloaded as CSV', async (ctx) => {
  const page = ctx.ownerPage;
  await page.goto(`${ctx.api}/reports`);
  const from = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
  await page.getByLabel('From').fill(from);
  await page.getByRole('button', { name: 'Request sales summary' }).click();
  const download = page.getByRole('button', { name: `Download CSV of the sales summary of ${from} to ${new Date().toISOString().slice(0, 10)}` }).first();
  await download.waitFor({ timeout: 30_000 });
  await shot(page, '18-reports');
  await checkA11y(page, '/reports (with a report)');
  const [file] = await Promise.all([page.waitForEvent('download'), download.click()]);
  const csv = readFileSync(await file.path(), 'utf8');
  if (!csv.startsWith('date,currency,orders,gross,refunds,net')) throw new Error(`report CSV starts ${csv.slice(0, 80)}`);
  if (!/,KWD,1,12\.345,/.test(csv)) throw new Error(`the KWD order is not in the report as 12.345: ${csv}`);
});

step('bulk re-queue previews the dead letters, then re-queues them', async (ctx) => {
  const page = ctx.ownerPage;
  const token = await apiToken(ctx.api, users.owner);
  const address = `bounce-${suffix}@e2e.test`;
  const fault = (failTo) =>
    fetch(`${ctx.sim}/_sim/faults`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ses: { status: 503, fail_to: failTo } }),
    });
  await fault([address]); // SES is down for this address: the confirmation fails every retry
  await apiCall(ctx.api, token, 'POST', '/api/v1/orders', {
    currency: 'USD', email: address, customer_name: 'Bounce Check',
    lines: [{ sku: 'E2E-USD', title: 'Price check USD', quantity: 1, unit_price: 500 }],
  });
  await waitFor('the email to be dead-lettered', async () => {
    const list = await apiCall(ctx.api, token, 'GET', '/api/v1/dead-letters');
    return list.items.some((d) => d.handler === 'email');
  }, 60_000, 500);
  await page.goto(`${ctx.api}/dead-letters`);
  await page.getByRole('heading', { name: 'Recovery', exact: true }).waitFor();
  await page.getByLabel('Step').selectOption('email');
  await page.getByRole('button', { name: 'Preview' }).first().click();
  await page.getByText(/^Preview: \d+ open dead letters? match(es)?\. Nothing has changed yet\./).waitFor();
  await page.getByRole('cell', { name: 'Would re-queue' }).first().waitFor();
  await shot(page, '19-bulk-requeue-preview');
  await checkA11y(page, '/dead-letters (preview)');
  await fault([]); // the cause is fixed
  await page.getByRole('button', { name: /^Re-queue \d+ dead letters?$/ }).click();
  await page.getByText(/^Done: \d+ re-queued, 0 failed\./).waitFor();
  await shot(page, '20-bulk-requeue-done');
  await waitFor('the confirmation to be sent after the re-queue', async () => {
    const emails = await apiCall(ctx.api, token, 'GET', '/api/v1/emails');
    return emails.items.some((e) => e.to === address && e.status === 'sent');
  }, 30_000, 500);
});

step('an email\'s recipient reads in clear for the owner, masked for the auditor', async (ctx) => {
  const page = ctx.ownerPage;
  await page.goto(`${ctx.api}/emails`);
  const cell = page.getByRole('cell', { name: 'money-kwd@e2e.test' });
  await cell.first().waitFor({ timeout: 30_000 });
  const row = page.locator('table tbody tr', { has: cell.first() });
  await row.getByRole('link', { name: 'Open order' }).waitFor();
  if ((await page.getByText(/sealed:v1/).count()) > 0) throw new Error('a recipient still reads sealed:v1:…');
  await shot(page, '21-emails');
  await checkA11y(page, '/emails');
  await row.getByRole('link', { name: 'Open order' }).click();
  await page.getByRole('heading', { name: /^Order / }).waitFor();
});

step('settings show the Shopify connection and switch an email preference', async (ctx) => {
  const page = ctx.ownerPage;
  const token = await apiToken(ctx.api, users.owner);
  await page.goto(`${ctx.api}/settings`);
  const connection = page.getByRole('region', { name: 'Shopify connection' });
  await connection.getByText('Installed', { exact: true }).waitFor();
  await connection.getByText('Admin API version').waitFor();
  const toggle = page.getByLabel('Send order confirmations for orders placed in Shopify');
  const before = (await apiCall(ctx.api, token, 'GET', '/api/v1/shop/settings')).shopify_order_confirmations;
  if ((await toggle.isChecked()) !== before) throw new Error('the checkbox does not show the saved setting');
  await toggle.click();
  await page.getByText(`Saved: order confirmations for Shopify orders are ${before ? 'off' : 'on'}.`).waitFor();
  const after = (await apiCall(ctx.api, token, 'GET', '/api/v1/shop/settings')).shopify_order_confirmations;
  if (after === before) throw new Error('the preference did not change on the server');
  await shot(page, '13b-settings-connection');
  await checkA11y(page, '/settings (preference saved)');
  await toggle.click(); // back as it was
  await page.getByText(`Saved: order confirmations for Shopify orders are ${before ? 'on' : 'off'}.`).waitFor();
});

step('a list keeps its filter and page in the address; the timeline names people; the favicon is served', async (ctx) => {
  const page = ctx.ownerPage;
  await page.goto(`${ctx.api}/emails`);
  await page.getByLabel('Kind').selectOption('order_confirmation');
  await page.waitForURL(/kind=order_confirmation/);
  await page.reload();
  await page.getByRole('heading', { name: 'Emails', exact: true }).waitFor();
  if ((await page.getByLabel('Kind').inputValue()) !== 'order_confirmation') throw new Error('the filter is lost on reload');
  // An order the owner created through the API: its placement is theirs.
  const token = await apiToken(ctx.api, users.owner);
  const order = await apiCall(ctx.api, token, 'POST', '/api/v1/orders', {
    currency: 'USD', email: 'names@e2e.test', customer_name: 'Name Check',
    lines: [{ sku: 'E2E-USD', title: 'Price check USD', quantity: 1, unit_price: 100 }],
  });
  await page.goto(`${ctx.api}/orders/${order.id}`);
  const history = page.getByRole('list', { name: 'Order history' });
  await history.getByText(`by ${users.owner.name}`).first().waitFor();
  if ((await history.getByText(/by user:/).count()) > 0) throw new Error('the timeline shows a user id');
  const icon = await fetch(`${ctx.api}/favicon.svg`);
  if (!icon.ok || !(icon.headers.get('content-type') ?? '').startsWith('image/svg+xml')) {
    throw new Error(`favicon: ${icon.status} ${icon.headers.get('content-type')}`);
  }
  const linked = await page.locator('link[rel="icon"]').getAttribute('href');
  if (linked !== '/favicon.svg') throw new Error(`the page links the icon ${linked}`);
});

step('an order is fulfilled with tracking, then refunded with a reason', async (ctx) => {
  const page = ctx.ownerPage;
  const token = await apiToken(ctx.api, users.owner);
  const order = await apiCall(ctx.api, token, 'POST', '/api/v1/orders', {
    currency: 'USD', email: 'ship-check@e2e.test', customer_name: 'Ship Check',
    lines: [{ sku: 'E2E-USD', title: 'Price check USD', quantity: 2, unit_price: 1999 }],
  });
  await apiCall(ctx.api, token, 'POST', `/api/v1/orders/${order.id}/pay`, {});
  await page.goto(`${ctx.api}/orders/${order.id}`);
  await page.getByRole('button', { name: 'Fulfil…' }).click();
  const ship = page.getByRole('form', { name: 'Fulfil items' });
  await ship.getByLabel('Carrier').fill('UPS');
  await ship.getByLabel('Tracking number').fill('1Z999AA10123456784');
  await ship.getByLabel('Tracking URL').fill('https://www.ups.com/track?tracknum=1Z999AA10123456784');
  await ship.getByRole('button', { name: 'Fulfil 2 items' }).click();
  await page.locator('.badges').getByText('Fulfilled').first().waitFor();
  const tracking = page.getByRole('link', { name: '1Z999AA10123456784' });
  await tracking.waitFor();
  if ((await tracking.getAttribute('href')) !== 'https://www.ups.com/track?tracknum=1Z999AA10123456784') throw new Error('the tracking link is wrong');
  await shot(page, '24-order-fulfilled');
  await checkA11y(page, '/orders/:id (fulfilled)');

  await page.getByRole('button', { name: 'Refund…' }).click();
  const refund = page.getByRole('form', { name: 'Refund' });
  await refund.getByLabel('Price check USD').fill('1');
  if ((await refund.getByLabel('Amount to refund (USD)').inputValue()) !== '19.99') throw new Error('one unit is not priced 19.99');
  await refund.getByLabel('Reason').fill('Arrived damaged (e2e)');
  await shot(page, '25-order-refund-form');
  await checkA11y(page, '/orders/:id (refund form)');
  // The page shows what the write answered; the read model follows, so the
  // API is read at the write's position, as any client reads its own write.
  const written = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/api/v1/orders/${order.id}/refund`));
  await refund.getByRole('button', { name: 'Refund $19.99' }).click();
  const { position } = await (await written).json();
  await page.locator('.badges').getByText('Partially refunded').first().waitFor();
  await page.getByText('Arrived damaged (e2e)').waitFor();
  const after = await apiCall(ctx.api, token, 'GET', `/api/v1/orders/${order.id}`, undefined, { 'X-Min-Position': position });
  if (after.refunded !== 1999 || after.refunds[0]?.reason !== 'Arrived damaged (e2e)') throw new Error(`refund on the server: ${JSON.stringify(after.refunds)}`);
  await shot(page, '26-order-refunded');

  await page.getByRole('button', { name: 'Edit note and tags…' }).click();
  const notes = page.getByRole('form', { name: 'Note and tags' });
  await notes.getByLabel('Note').fill('Customer sent photos of the damage (e2e)');
  await notes.getByLabel('Tags, separated by commas').fill('damaged, priority, damaged');
  await notes.getByRole('button', { name: 'Save note and tags' }).click();
  await page.getByRole('list', { name: 'Tags' }).getByText('priority').waitFor();
  await page.getByText('Customer sent photos of the damage (e2e)').waitFor();
  // The page shows the write's answer; the order's read model follows it shortly.
  await waitFor('the tags on the server', async () => {
    const annotated = await apiCall(ctx.api, token, 'GET', `/api/v1/orders/${order.id}`);
    return annotated.tags.join(',') === 'damaged,priority';
  }, 15_000, 300);
  await shot(page, '27-order-annotated');
  await checkA11y(page, '/orders/:id (note and tags)');
});

step('an API token is created and shown once', async (ctx) => {
  const page = ctx.ownerPage;
  await page.goto(`${ctx.api}/settings`);
  const form = page.getByRole('form', { name: 'Create an API token' });
  await form.getByLabel('Token name').fill('ERP sync (e2e)');
  await form.getByLabel('Role').selectOption('staff');
  await page.getByRole('button', { name: 'Create token' }).click();
  const secret = await page.getByLabel('Token', { exact: true }).inputValue();
  if (!secret.startsWith('omt_')) throw new Error(`token reads ${secret}`);
  const check = await fetch(`${ctx.api}/api/v1/profile`, { headers: { Authorization: `Bearer ${secret}` } });
  if (!check.ok) throw new Error(`the new token is refused: ${check.status}`);
  await shot(page, '22-token-created');
  await checkA11y(page, '/settings (token shown)');
  await page.context().close();
});

step('auditor finds no write buttons', async (ctx) => {
  const page = await newPage(ctx);
  await signIn(page, ctx.api, users.auditor);
  await page.waitForURL('**/orders');
  await page.locator('table tbody tr a').first().click();
  await page.getByRole('list', { name: 'Order history' }).waitFor();
  const writes = /cancel order|mark as paid|refund|adjust|redeliver|re-?queue|process .* again|preview|deactivate|revoke|add user|create token/i;
  const check = async (where) => {
    const found = await page.getByRole('button', { name: writes }).count();
    if (found > 0) throw new Error(`${found} write button(s) on ${where}`);
  };
  await check('the order page');
  await shot(page, '14-auditor-order');
  for (const path of ['/inventory', '/webhooks', '/dead-letters']) {
    await page.goto(`${ctx.api}${path}`);
    await page.waitForLoadState('networkidle').catch(() => {});
    await page.locator('main h1').waitFor();
    await check(path);
  }
  if (await page.getByRole('link', { name: 'Settings' }).count()) throw new Error('auditor sees Settings');
  await page.goto(`${ctx.api}/settings`);
  await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
  await page.goto(`${ctx.api}/emails`);
  await page.getByRole('cell', { name: 'm•••@e2e.test' }).first().waitFor();
  if ((await page.getByRole('cell', { name: 'money-kwd@e2e.test' }).count()) > 0) throw new Error('the auditor reads a recipient in clear');
  await shot(page, '23-auditor-emails');
  await page.goto(`${ctx.api}/audit`);
  await page.getByRole('heading', { name: 'Audit' }).waitFor();
  // The e2e server runs the default schedule (ORDERMILL_AUDIT_INTERVAL=1h).
  await page.getByText('The whole log, every hour.').waitFor();
  await page.getByRole('button', { name: 'Verify now' }).click();
  // The run's progress bar (polled while it runs) ends full, at the shop's event count, beside the verdict.
  const bar = page.getByRole('progressbar', { name: 'Events verified' });
  await bar.waitFor();
  await page.getByText(/^Verified\./).waitFor({ timeout: 60_000 });
  await page.getByText('Events checked', { exact: true }).waitFor();
  const [now, max] = [await bar.getAttribute('aria-valuenow'), await bar.getAttribute('aria-valuemax')];
  const checked = (await page.locator('.facts dt', { hasText: 'Events checked' }).locator('xpath=following-sibling::dd[1]').innerText()).trim();
  if (now !== max || now !== checked || Number(now) <= 0) throw new Error(`the progress bar ends at ${now} of ${max}; the verdict counts ${checked}`);
  await page.getByText(new RegExp(`^${checked.replace(/\B(?=(\d{3})+(?!\d))/g, ',')} of .* events checked`)).waitFor();
  await shot(page, '15-auditor-audit');
  await checkA11y(page, '/audit (verdict)');
  await page.context().close();
});

step('the login page is accessible', async (ctx) => {
  const page = await newPage(ctx);
  await page.goto(`${ctx.api}/login`);
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await checkA11y(page, '/login');
  await page.context().close();
});

async function cleanup() {
  await browser?.close().catch(() => {});
  for (const c of children) {
    c.stopping = true;
    c.kill('SIGTERM');
  }
  await Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => { c.once('exit', r); setTimeout(r, 5000); }))));
  try {
    execFileSync('go', ['run', '-tags', 'e2e', './web/e2e/seed', 'drop', dbName], {
      cwd: root,
      env: { ...process.env, ORDERMILL_DATABASE_URL: withDb(baseDb, 'postgres') },
      stdio: 'inherit',
    });
  } catch {
    console.error(`  ! could not drop ${dbName}`);
  }
}

function reportA11y() {
  writeFileSync(join(root, 'test-artifacts', 'axe.json'), JSON.stringify(axeResults, null, 2));
  for (const r of axeResults) console.log(`  axe ${r.page}: ${r.violations.length === 0 ? 'no violations' : r.violations.join(', ')}`);
}

let fatal;
try {
  await main();
} catch (e) {
  fatal = e;
}
await cleanup();
reportA11y();
if (fatal) {
  console.error(`e2e: FAILED before the browser steps finished: ${fatal.message}`);
  process.exit(1);
}
if (failures > 0) {
  console.error(`e2e: ${failures} of ${steps.length} steps FAILED (screenshots in test-artifacts/screenshots)`);
  process.exit(1);
}
console.log(`e2e: all ${steps.length} steps passed; screenshots in test-artifacts/screenshots`);
