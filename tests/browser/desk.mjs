// The agent desk and wallboard in a real browser against a running Hotline, driven by a
// Rust test:  node tests/browser/desk.mjs <base-url> <out-dir>
//
// Prints one JSON object per line on stdout as it goes ({"step": ...}); the Rust test reacts
// to them (it places the call after "available", may answer the agent's phone after
// "offered", which is printed once the offer was read and screenshotted, and hangs up to
// reach wrap-up). Lines on stdin are optional: {"abort": "<why>"} (or the word "abort")
// fails the run at once; anything else is ignored. The agents' password is in
// HOTLINE_AGENT_PASSWORD (alice, agent; sue, supervisor). Exits 0 after {"step":"done"},
// 1 after {"step":"failed", "error", "at", "console_errors"}.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const [base, outDir] = process.argv.slice(2);
if (!base || !outDir) {
  console.error('usage: node tests/browser/desk.mjs <base-url> <out-dir>');
  process.exit(2);
}
const password = process.env.HOTLINE_AGENT_PASSWORD;
const VIEWPORT = { width: 1280, height: 800 };
const OVERALL_MS = 8 * 60 * 1000;
const PIN = /(?<![0-9A-Za-z])1234(?![0-9A-Za-z])/; // the caller's PIN, alone (not inside 12345678 or a hex token)

const emit = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
let at = 'start';
const consoleErrors = [];
let browser = null;
let deskPage = null; // for the failure report

// ---- stdin: the Rust test may abort us ----
let abortRun;
const aborted = new Promise((_, reject) => { abortRun = reject; });
aborted.catch(() => {});
createInterface({ input: process.stdin }).on('line', (line) => {
  const text = line.trim();
  if (!text) return;
  let msg = null;
  try { msg = JSON.parse(text); } catch { /* a plain word */ }
  if (text === 'abort' || (msg && msg.abort !== undefined)) abortRun(new Error(`aborted by the test: ${msg ? msg.abort : 'abort'}`));
});

// ---- helpers ----
const byId = (id) => `[data-testid="${id}"]`;

function watchConsole(page, name) {
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${name}: ${m.text()}`); });
  page.on('pageerror', (e) => consoleErrors.push(`${name}: uncaught ${e.message}`));
}

async function text(page, id, timeout = 10000) {
  const el = page.locator(byId(id)).first();
  await el.waitFor({ state: 'visible', timeout });
  return (await el.innerText()).replace(/\s+/g, ' ').trim();
}

// Waits until the element's text is exactly `want`.
async function waitText(page, id, want, timeout) {
  try {
    await page.waitForFunction(([sel, w]) => {
      const el = document.querySelector(sel);
      return !!el && el.textContent.trim() === w;
    }, [byId(id), want], { timeout, polling: 100 });
  } catch (e) {
    const now = await page.locator(byId(id)).first().textContent({ timeout: 1000 }).catch(() => null);
    throw new Error(`${id} did not become "${want}" within ${timeout / 1000} s (it shows ${JSON.stringify(now && now.trim())})`);
  }
}

async function logIn(page, login, pass) {
  await page.locator(byId('login-form')).waitFor({ state: 'visible', timeout: 15000 });
  await page.fill('#login', login);
  await page.fill('#password', pass);
  await page.click(byId('login-submit'));
}

const asNumber = (s) => (/^-?\d+(\.\d+)?$/.test(s) ? Number(s) : s);

// ---- the scenario ----
async function scenario() {
  if (!password) throw new Error('HOTLINE_AGENT_PASSWORD is not set');
  mkdirSync(outDir, { recursive: true });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });

  // 1. A wrong password is refused.
  at = 'wrong_password_refused';
  const deskContext = await browser.newContext({ viewport: VIEWPORT });
  deskContext.setDefaultTimeout(15000);
  const desk = await deskContext.newPage();
  deskPage = desk;
  watchConsole(desk, 'desk');
  const frames = [];
  desk.on('websocket', (ws) => ws.on('framereceived', ({ payload }) => frames.push(String(payload))));
  await desk.goto(`${base}/desk`, { timeout: 20000 });
  await logIn(desk, 'alice', `not-${password}`);
  const error = await text(desk, 'login-error');
  emit({ step: 'wrong_password_refused', error });

  // 2. Signed in, available.
  at = 'available';
  await logIn(desk, 'alice', password);
  await desk.locator(byId('go-available')).waitFor({ state: 'visible', timeout: 15000 });
  // Let the ACD report the current state first (the button is disabled when already available).
  await desk.waitForFunction((sel) => {
    const el = document.querySelector(sel);
    return el && el.textContent.trim() !== 'connecting';
  }, byId('status-pill'), { timeout: 10000, polling: 100 }).catch(() => {});
  if (await desk.locator(byId('go-available')).isEnabled()) await desk.click(byId('go-available'));
  await waitText(desk, 'status-pill', 'available', 15000);
  emit({ step: 'available' });

  // 3. The Rust test places a call; it rings for alice with its context.
  at = 'offered';
  await desk.locator(byId('offer-card')).waitFor({ state: 'visible', timeout: 60000 });
  await desk.locator(byId('context-card')).waitFor({ state: 'visible', timeout: 10000 });
  await desk.screenshot({ path: join(outDir, 'desk-offer.png') });
  const entities = await desk.$$eval(`${byId('ctx-entities')} tr`, (rows) =>
    Object.fromEntries(rows.map((r) => [r.dataset.key, r.querySelector('td').textContent])));
  const transcript = await desk.$$eval(`${byId('ctx-transcript')} li`, (li) => li.map((l) => l.textContent));
  const path = await desk.$$eval(`${byId('ctx-path')} li`, (li) => li.map((l) => l.textContent));
  const ticketText = await text(desk, 'ctx-ticket');
  const html = await desk.content();
  const events = await desk.evaluate(() => window.hotlineDesk.events);
  const offer = events.filter((e) => e.message.type === 'offer').pop();
  const agentEvents = events.filter((e) => e.message.type === 'agent');
  emit({
    step: 'offered',
    caller: await text(desk, 'ctx-caller'),
    verified: await text(desk, 'ctx-verified'),
    intent: await text(desk, 'ctx-intent'),
    queue: await text(desk, 'ctx-queue'),
    ticket: asNumber(ticketText),
    entities,
    transcript,
    path,
    html_has_1234: PIN.test(html),
    frames_have_1234: frames.some((f) => PIN.test(f)),
    frames: frames.length,
    offer_latency_ms: offer ? offer.receivedAt - Date.parse(offer.message.offered_at) : null,
    agent_latency_ms: agentEvents.map((e) => e.receivedAt - Date.parse(e.message.decided_at)),
    agent_states: agentEvents.map((e) => e.message.agent.state),
  });

  // 4. Answered on the phone, hung up, wrapped up from the desk.
  at = 'on_call';
  await waitText(desk, 'status-pill', 'on_call', 60000);
  await desk.locator(byId('call-timer')).waitFor({ state: 'visible', timeout: 5000 });
  emit({ step: 'on_call' });
  at = 'wrap_up';
  await waitText(desk, 'status-pill', 'wrap_up', 90000);
  emit({ step: 'wrap_up' });
  at = 'wrapped_up';
  await desk.locator(byId('wrapup-form')).waitFor({ state: 'visible', timeout: 5000 });
  await desk.selectOption(byId('disposition'), 'card_blocked');
  await desk.fill(byId('notes'), 'blocked from the desk');
  await desk.screenshot({ path: join(outDir, 'desk-wrapup.png') });
  await desk.click(byId('save-wrapup'));
  await desk.locator(byId('wrapup-saved')).waitFor({ state: 'visible', timeout: 15000 });
  const saved = await text(desk, 'wrapup-saved');
  await waitText(desk, 'status-pill', 'available', 30000);
  const closed = /ticket #(\d+)/.exec(saved);
  emit({ step: 'wrapped_up', ticket: closed ? Number(closed[1]) : null, saved });

  // 5. The wallboard: refused to an agent, shown to a supervisor, who logs alice out.
  at = 'wallboard_refused_for_agent';
  const wallContext = await browser.newContext({ viewport: VIEWPORT });
  wallContext.setDefaultTimeout(15000);
  const wall = await wallContext.newPage();
  watchConsole(wall, 'wallboard');
  await wall.goto(`${base}/wallboard`, { timeout: 20000 });
  await logIn(wall, 'alice', password);
  await wall.locator(byId('supervisors-only')).waitFor({ state: 'visible', timeout: 15000 });
  emit({ step: 'wallboard_refused_for_agent' });

  at = 'wallboard';
  await wall.click(`${byId('supervisors-only')} ${byId('sign-out')}`);
  await logIn(wall, 'sue', password);
  await wall.locator(byId('queue-cards')).waitFor({ state: 'visible', timeout: 20000 });
  const alice = await text(wall, 'agent-state-alice');
  const answered = asNumber(await text(wall, 'q-answered-cards'));
  const waiting = asNumber(await text(wall, 'q-waiting-cards'));
  await wall.locator(`${byId('chart')} canvas`).waitFor({ state: 'attached', timeout: 10000 });
  await wall.screenshot({ path: join(outDir, 'wallboard.png'), fullPage: true });
  emit({ step: 'wallboard', answered, waiting, alice });

  at = 'forced_logout';
  await wall.click(byId('force-logout-alice'));
  await waitText(wall, 'agent-state-alice', 'logged_out', 15000);
  await waitText(desk, 'status-pill', 'logged_out', 15000);
  emit({ step: 'forced_logout' });

  at = 'done';
  emit({ step: 'done' });
}

let code = 0;
const overall = new Promise((_, reject) => setTimeout(() => reject(new Error(`the whole run took over ${OVERALL_MS / 1000} s`)), OVERALL_MS).unref());
try {
  await Promise.race([scenario(), aborted, overall]);
} catch (e) {
  code = 1;
  // What the agent's page showed, so a failure far away (CI) can be read.
  const shown = deskPage
    ? await Promise.race([deskPage.locator('body').innerText(), new Promise((r) => setTimeout(() => r(null), 3000))]).catch(() => null)
    : null;
  if (deskPage) await deskPage.screenshot({ path: join(outDir, 'failed-desk.png') }).catch(() => {});
  emit({ step: 'failed', error: String((e && e.message) || e).split('\n')[0], at, console_errors: consoleErrors, desk_shows: shown });
} finally {
  if (browser) await Promise.race([browser.close(), new Promise((r) => setTimeout(r, 10000))]).catch(() => {});
}
process.exit(code);
