// The dashboard (GET /) as its user meets it: Debian's chromium, headless,
// driven by playwright-core, against a real `crier serve` (port 0, temp data
// dir) and a real `crier sink` receiving the webhooks. Jobs are created
// through the API, as a service would; everything after that is clicks and
// what the page shows: sign-in (a wrong key refused), a job's progress bar
// reaching 100 %, its failed recipients and their error, run / pause /
// resume / cancel, the jobs list with its status filter.
//
// What is checked is what the user sees, not how the page learns it: the
// page follows a job over the event stream when the server has one, and by
// polling GET /v1/jobs/{id} otherwise; both must pass.
//
// With CRIER_SCREENSHOT_DIR set (scripts/screenshots.sh), the jobs list and
// a job page are saved there as PNGs (docs/img/ in the repository).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
// tests/compat/harness.mjs, copied beside this file in the build tree.
import { startCrier, waitFor } from './harness.mjs';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const API_KEY = 'dashboard-key-0123456789';
const UI_DEADLINE_MS = 60000;

let crier;
let context;
let page;
let userDataDir;
const requestUrls = [];  // every URL the browser asked for
const frameUrls = [];    // every URL the page was at
const consoleErrors = [];
const pageErrors = [];
const screenshotDir = process.env.CRIER_SCREENSHOT_DIR;

before(async () => {
  crier = await startCrier({ apiKey: API_KEY, tenant: 'acme' });
  userDataDir = mkdtempSync(path.join(tmpdir(), 'crier-chromium-'));
  // A new, empty profile; playwright passes it as --user-data-dir.
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 860 },
    deviceScaleFactor: 1,
    timezoneId: 'UTC',
    locale: 'en-GB',
  });
  page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(UI_DEADLINE_MS);
  page.on('request', (r) => requestUrls.push(r.url()));
  page.on('framenavigated', (f) => frameUrls.push(f.url()));
  page.on('pageerror', (e) => pageErrors.push(e.stack || String(e)));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
});

after(async () => {
  if (context) await context.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  if (crier) await crier.stop();
});

// A webhook job with `count` users, each with its own URL on the sink, the
// ones in `unreachable` at an internal address the server refuses to send to
// (FAILED egress_denied: a permanent error, at once).
async function createJob({ count, rate, unreachable = [], run = false }) {
  const users = [];
  for (let i = 0; i < count; i += 1) {
    const id = `user-${String(i + 1).padStart(3, '0')}`;
    users.push({
      user_id: id,
      webhook_url: unreachable.includes(i) ? `http://10.255.0.${i}/hooks/${id}` : `${crier.sinkUrl}/hooks/${id}`,
      data: { name: `User ${i + 1}` },
    });
  }
  const r = await crier.fetchJson('POST', '/v1/jobs', {
    channel: 'webhook',
    content: { webhook: { body: { text: 'Hello {{name}}, your order has shipped' } } },
    rate_limit: rate,
    correlation_id: 'spring-sale',
    users,
    run,
  });
  assert.equal(r.status, 201, r.text);
  return r.body.job_id;
}

async function jobStatus(id) {
  return (await crier.fetchJson('GET', `/v1/jobs/${id}`)).body.status;
}

const jobProgress = () => page.locator('[role="progressbar"][aria-label="Job progress"]');
const statusBadge = () => page.locator('#job-status .badge');

// Polls the page until `read()` (run in the test, against the page) returns
// something truthy; quotes the last value and the server's log on failure.
function until(read, what) {
  return crier.waitFor(read, UI_DEADLINE_MS, { intervalMs: 100, what });
}

async function openJob(id) {
  await page.goto(`${crier.baseUrl}/#/jobs/${id}`);
  await page.locator('h1.job-title').filter({ hasText: id }).waitFor();
}

async function signIn(key) {
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('the page is served from the binary with its content type, validators and CSP', async () => {
  const index = await fetch(`${crier.baseUrl}/`);
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type'), /^text\/html; charset=utf-8$/);
  const csp = index.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  const etag = index.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]{32}"$/);
  assert.match(await index.text(), /<script src="\/assets\/app\.js" defer><\/script>/);
  const again = await fetch(`${crier.baseUrl}/`, { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
  const js = await fetch(`${crier.baseUrl}/assets/app.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  const missing = await fetch(`${crier.baseUrl}/assets/nope.js`);
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.code, 'route_not_found');
});

test('a wrong key is refused with a message, and the page stays on sign-in', async () => {
  await page.goto(`${crier.baseUrl}/`);
  // From the keyboard: the field has the focus, Enter submits.
  assert.equal(await page.evaluate(() => document.activeElement.id), 'api-key');
  await page.keyboard.type('not-the-right-key-42');
  await page.keyboard.press('Enter');
  await until(async () => /not accepted/.test(await page.locator('#sign-in-error').textContent()),
    'the sign-in error');
  assert.match(await page.locator('#sign-in-error').textContent(), /invalid_api_key/);
  assert.equal(await page.getByLabel('API key').isVisible(), true);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
});

let firstJob;

test('signs in, then a job run through the API reaches 100 % with its failed recipients shown', async () => {
  firstJob = await createJob({ count: 240, rate: 30, unreachable: [2, 7] });
  await signIn(API_KEY);
  // The jobs list, with the new job not started.
  const row = page.locator(`tr[data-job-id="${firstJob}"]`);
  await row.waitFor();
  assert.equal(await row.locator('.badge').textContent(), 'CREATED');
  assert.equal(await row.locator('[role="progressbar"]').getAttribute('aria-valuenow'), '0');

  await row.getByRole('link', { name: firstJob }).click();
  await page.locator('h1.job-title').filter({ hasText: firstJob }).waitFor();
  assert.equal(await statusBadge().textContent(), 'CREATED');

  const run = await crier.fetchJson('POST', `/v1/jobs/${firstJob}/run`);
  assert.equal(run.status, 202, run.text);
  await until(async () => (await statusBadge().textContent()) === 'PROCESSING' ||
    (await jobProgress().getAttribute('aria-valuenow')) === '100', 'the job to show as running');
  await until(async () => (await jobProgress().getAttribute('aria-valuenow')) === '100', 'the progress bar at 100 %');
  await until(async () => (await statusBadge().textContent()) === 'PARTIAL', 'the status PARTIAL');
  assert.match(await page.locator('.progress-slot .progress-text').textContent(), /^100 %$/);
  assert.equal(await page.locator('#count-sent').textContent(), '238');
  assert.equal(await page.locator('#count-failed').textContent(), '2');
  assert.equal(await page.locator('#eta').textContent(), 'done');
  // What the API says, too.
  assert.equal(await jobStatus(firstJob), 'PARTIAL');

  // The failed recipients, by the table's status filter, with their error.
  await page.getByLabel('Status', { exact: true }).selectOption('FAILED');
  const failedRows = page.locator('table.recipients tbody tr[data-seq]');
  await until(async () => (await failedRows.count()) === 2 &&
    (await page.locator('table.recipients tbody tr[data-seq] .badge').allTextContents()).every((s) => s === 'FAILED'),
  'two FAILED recipients listed');
  assert.deepEqual(await failedRows.evaluateAll((rows) => rows.map((r) => r.dataset.seq)), ['2', '7']);
  assert.match(await failedRows.first().textContent(), /egress_denied/);

  // Back to all recipients: the first page of 25, then the next.
  await page.getByLabel('Status', { exact: true }).selectOption('');
  await until(async () => (await failedRows.count()) === 25, 'a page of 25 recipients');
  await page.getByRole('button', { name: 'Next →' }).click();
  await until(async () => (await failedRows.first().getAttribute('data-seq')) === '25', 'the second page');
  await page.getByRole('button', { name: '← Previous' }).click();
  await until(async () => (await failedRows.first().getAttribute('data-seq')) === '0', 'the first page again');
  if (screenshotDir) {
    mkdirSync(screenshotDir, { recursive: true });
    await page.screenshot({ path: path.join(screenshotDir, 'job-page.png'), fullPage: true });
  }
});

test('a slow job is run, paused, resumed and finishes, from its buttons', async () => {
  const id = await createJob({ count: 40, rate: 5 });
  await openJob(id);
  await until(async () => (await statusBadge().textContent()) === 'CREATED', 'the job as CREATED');
  const button = (name) => page.getByRole('button', { name, exact: true });

  await button('Run').click();
  await until(async () => /Started\. The job is PROCESSING\./.test(await page.locator('#action-result').textContent()),
    'the run to be reported');
  await until(async () => Number(await jobProgress().getAttribute('aria-valuenow')) > 0 ||
    Number(await page.locator('#count-sent').textContent()) > 0, 'the first messages sent');

  await button('Pause').click();
  await until(async () => /Paused\. The job is PAUSED\./.test(await page.locator('#action-result').textContent()),
    'the pause to be reported');
  await until(async () => (await statusBadge().textContent()) === 'PAUSED', 'the status PAUSED');
  assert.equal(await jobStatus(id), 'PAUSED');
  assert.equal(await button('Pause').isDisabled(), true);
  assert.equal(await button('Resume').isEnabled(), true);
  const progressWhenPaused = Number(await jobProgress().getAttribute('aria-valuenow'));
  assert.ok(progressWhenPaused < 100, `paused at ${progressWhenPaused} %`);

  await button('Resume').click();
  await until(async () => /Resumed\. The job is (PROCESSING|COMPLETED)\./.test(
    await page.locator('#action-result').textContent()), 'the resume to be reported');
  await until(async () => (await statusBadge().textContent()) === 'COMPLETED', 'the status COMPLETED');
  await until(async () => (await jobProgress().getAttribute('aria-valuenow')) === '100', 'the progress bar at 100 %');
  assert.equal(await page.locator('#count-sent').textContent(), '40');
  assert.equal(await button('Resume').isDisabled(), true);
  assert.equal(await button('Cancel job').isDisabled(), true);
  const stats = await crier.sinkStats();
  assert.ok(stats.unique >= 40 + 238, `the sink got ${stats.unique} messages`);

  // A page that is behind (someone else acted, the next update has not come
  // yet) can send an action the job no longer allows: the server's refusal
  // is shown. The button is enabled by hand here to stand for that moment.
  await page.locator('button[data-action="resume"]').evaluate((b) => { b.disabled = false; });
  await button('Resume').click();
  await until(async () => /Could not resume: .*\(invalid_state_transition, request req_/.test(
    await page.locator('#action-result').textContent()), 'the refusal to be shown');
  assert.equal(await jobStatus(id), 'COMPLETED');
  assert.equal(await statusBadge().textContent(), 'COMPLETED');
});

test('cancel asks for a confirmation, then shows the job cancelled', async () => {
  const id = await createJob({ count: 10, rate: 1 });
  await openJob(id);
  await until(async () => (await statusBadge().textContent()) === 'CREATED', 'the job as CREATED');
  await page.getByRole('button', { name: 'Cancel job' }).click();
  // The first click only asks; nothing changed.
  await page.getByRole('button', { name: 'Confirm cancel' }).waitFor();
  assert.equal(await jobStatus(id), 'CREATED');
  await page.getByRole('button', { name: 'Confirm cancel' }).click();
  await until(async () => /Cancel accepted\. The job is CANCELL(ING|ED)\./.test(await page.locator('#action-result').textContent()),
    'the cancel to be reported');
  await until(async () => (await statusBadge().textContent()) === 'CANCELLED', 'the status CANCELLED');
  assert.equal(await jobStatus(id), 'CANCELLED');
  // The event stream tells a status before the snapshot that shows it: the
  // counters may follow the badge by a moment.
  await until(async () => (await page.locator('#count-cancelled').textContent()) === '10', 'ten cancelled recipients');
});

test('the jobs list shows every job, filters by status, and links to each', async () => {
  // One more job, left running, so the list has one of each kind.
  const running = await createJob({ count: 400, rate: 25, run: true });
  await page.goto(`${crier.baseUrl}/#/`);
  const rows = page.locator('table.jobs tbody tr[data-job-id]');
  await until(async () => (await rows.count()) === 4, 'four jobs listed');
  // Newest first.
  assert.equal(await rows.first().getAttribute('data-job-id'), running);
  assert.equal(await rows.last().getAttribute('data-job-id'), firstJob);
  assert.deepEqual(await page.locator('table.jobs tbody .badge').allTextContents(),
    ['PROCESSING', 'CANCELLED', 'COMPLETED', 'PARTIAL']);
  assert.equal(await rows.last().locator('[role="progressbar"]').getAttribute('aria-valuenow'), '100');
  // The list is read again by itself: the running job's counters move.
  await until(async () => Number((await rows.first().locator('td.num').first().textContent()).replace(/,/g, '')) >= 100,
    'the running job moving in the list');
  if (screenshotDir) {
    // Down to the pager: the list, without the empty page below it.
    const pager = await page.locator('nav.pager').boundingBox();
    await page.screenshot({ path: path.join(screenshotDir, 'jobs-list.png'),
      clip: { x: 0, y: 0, width: 1280, height: Math.ceil(pager.y + pager.height + 24) } });
  }

  await page.getByLabel('Status', { exact: true }).selectOption('PARTIAL');
  await until(async () => (await rows.count()) === 1 && (await rows.first().getAttribute('data-job-id')) === firstJob,
    'only the PARTIAL job');
  assert.match(page.url(), /#\/\?status=PARTIAL$/);
  await page.getByLabel('Status', { exact: true }).selectOption('FAILED');
  await until(async () => /No FAILED jobs/.test(await page.locator('table.jobs tbody').textContent()), 'no FAILED job');
});

test('the jobs list pages through the listing with its cursor', async () => {
  // 22 more jobs (26 in all): a first page of 25, newest first, and a second
  // one with the oldest, the first job.
  for (let i = 0; i < 22; i += 1) await createJob({ count: 0, rate: 10 });
  await page.getByLabel('Status', { exact: true }).selectOption('');
  const rows = page.locator('table.jobs tbody tr[data-job-id]');
  await until(async () => (await rows.count()) === 25, 'a first page of 25 jobs');
  assert.equal(await page.getByRole('button', { name: '← Newer' }).isDisabled(), true);
  await page.getByRole('button', { name: 'Older →' }).click();
  await until(async () => (await rows.count()) === 1 && (await rows.first().getAttribute('data-job-id')) === firstJob,
    'a second page with the first job');
  assert.equal(await page.getByRole('button', { name: 'Older →' }).isDisabled(), true);
  await page.getByRole('button', { name: '← Newer' }).click();
  await until(async () => (await rows.count()) === 25, 'the first page again');
});

test('the key never appeared in a URL, is kept in sessionStorage only, and sign-out forgets it', async () => {
  assert.ok(requestUrls.length > 20, `the browser made ${requestUrls.length} requests`);
  for (const url of [...requestUrls, ...frameUrls, page.url()]) {
    assert.ok(!url.includes(API_KEY), `the key is in ${url}`);
    assert.ok(!url.includes(encodeURIComponent(API_KEY)), `the key is in ${url}`);
  }
  assert.equal(await page.evaluate(() => sessionStorage.getItem('crier.apiKey')), API_KEY);
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API key').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('crier.apiKey')), null);
});

test('no script error, and no console error but the expected refusals', async () => {
  assert.deepEqual(pageErrors, []);
  // The browser itself logs every 4xx answer to a fetch: the wrong key's 401,
  // the refused resume's 409, and, on a server without the event stream, the
  // ticket request's 404 (the page then polls). Nothing else may be logged
  // as an error.
  const unexpected = consoleErrors.filter(
    (m) => !/^Failed to load resource: the server responded with a status of (401|404|409)/.test(m));
  assert.deepEqual(unexpected, []);
});
