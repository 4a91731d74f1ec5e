// The login page's proof-of-work step-up in a real browser: headless
// Chromium (Debian's, driven by playwright-core) on otpd's own port
// (127.0.0.1 is a secure context, so Web Crypto is there). This address
// first sends codes to two regions through the API, so the page's send to
// a third is answered 428 (the rules' ip_spread step-up): the page's
// script must solve the challenge and post again, and the code step must
// follow; with JavaScript off the page must say that the step needs it.
// Then the shipped app.js is timed on fresh challenges at the default
// difficulty (18 bits), as is and with the CPU slowed 4x (a phone-class
// stand-in). Screenshots go to $OTPD_SCREENSHOTS or a temp dir (printed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const OTPD = process.env.OTPD_BIN || path.join(REPO, 'build', 'otpd');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const US = '+14155550100', GB = '+447400123456', FR = '+33612345678';
const RUNS = Number(process.env.OTPD_POW_RUNS || 4);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'otpd-stepup-'));
const shots = process.env.OTPD_SCREENSHOTS || path.join(work, 'shots');
fs.mkdirSync(shots, { recursive: true });
let otpd, browser, base;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function smsTo(phone) {
  const file = path.join(work, 'sms.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)
    .map((l) => { try { return JSON.parse(l); } catch { return null; } })
    .filter((m) => m && m.to === phone);
}

async function waitSms(phone) {
  const deadline = Date.now() + 10000;
  while (smsTo(phone).length === 0) {
    assert.ok(Date.now() < deadline, `no SMS to ${phone}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function apiSend(phone) {
  const r = await fetch(`${base}/auth/send-otp`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ phone }),
  });
  assert.equal(r.status, 200, await r.text());
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { mean, median: s[Math.floor(s.length / 2)], max: s[s.length - 1],
    min: s[0] };
}

before(async () => {
  const port = await freePort();
  const log = fs.openSync(path.join(work, 'otpd.log'), 'a');
  otpd = spawn(OTPD, [
    '--listen', `127.0.0.1:${port}`,
    '--store', `sqlite:${path.join(work, 'otpd.db')}`,
    '--sms', `file:${path.join(work, 'sms.jsonl')}`,
    '--limit-ip', '0', '--fraud', 'enforce', '--app-name', 'Acme Orders',
  ], { cwd: work, stdio: ['ignore', log, log] });
  base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10000;
  for (;;) {
    try { if ((await fetch(`${base}/healthz`)).ok) break; } catch { /* up soon */ }
    assert.ok(otpd.exitCode === null && Date.now() < deadline,
      'otpd did not start: ' + fs.readFileSync(path.join(work, 'otpd.log')));
    await new Promise((r) => setTimeout(r, 50));
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu',
      '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  console.log(`# screenshots in ${shots}`);
});

after(async () => {
  if (browser) await browser.close();
  if (otpd && otpd.exitCode === null) {
    otpd.kill('SIGTERM');
    await new Promise((r) => otpd.on('exit', r));
  }
});

test('a send that needs a proof of work: the page solves it and the code step follows',
  { timeout: 240000 }, async () => {
    // this address has sent to two regions: a third needs a proof
    await apiSend(US);
    await apiSend(GB);
    const ctx = await browser.newContext({
      viewport: { width: 480, height: 640 }, locale: 'en-US' });
    const page = await ctx.newPage();
    // Web Crypto waits until the "checking" state is on file: the page's
    // digests then start when the test says so
    await ctx.addInitScript(() => {
      const digest = crypto.subtle.digest.bind(crypto.subtle);
      let go;
      const held = new Promise((r) => { go = r; });
      window.powRelease = go;
      crypto.subtle.digest = (alg, data) => held.then(() => digest(alg, data));
    });
    let challenged = false, pow = null, postedAt = 0;
    page.on('response', (r) => { if (r.status() === 428) challenged = true; });
    page.on('request', (r) => {
      const body = r.postData() || '';
      if (r.method() === 'POST' && /(^|&)pow=1\./.test(body)) {
        postedAt = performance.now();
        pow = new URLSearchParams(body).get('pow');
      }
    });
    await page.goto(`${base}/login?rd=/orders`);
    await page.getByLabel('Phone number').fill(FR);
    await page.getByRole('button', { name: 'Send code' }).click();
    const status = page.locator('#pow-status');
    await status.filter({ hasText: 'Checking your browser…' }).waitFor();
    assert.equal(await status.getAttribute('aria-live'), 'polite');
    assert.ok(await page.getByRole('button', { name: 'Send code' })
      .isDisabled());
    await page.screenshot({ path: path.join(shots, 'stepup-1-checking.png') });
    const releasedAt = performance.now();
    await page.evaluate(() => window.powRelease());
    const code = page.getByLabel('Code from the SMS');
    await code.waitFor({ timeout: 180000 });
    assert.ok(challenged, 'the send was never answered 428');
    assert.ok(pow, 'the page never posted a solution');
    // the solution: the challenge, a counter, SHA-256 with 18 zero bits
    const [v, bits] = pow.split('.');
    assert.equal(v, '1');
    assert.equal(bits, '18');
    const h = crypto.createHash('sha256').update(pow).digest();
    assert.equal(h[0], 0);
    assert.equal(h[1], 0);
    assert.equal(h[2] >> 6, 0);
    const counter = Number(pow.split('.').pop());
    console.log(`# page flow: solved and posted ${
      (postedAt - releasedAt).toFixed(0)} ms after its digests could start, ${
      counter + 1} counters tried`);
    await waitSms(FR);
    await page.screenshot({ path: path.join(shots, 'stepup-2-code.png') });
    await ctx.close();
  });

test('with JavaScript off the page says that this step needs it', async () => {
  const ctx = await browser.newContext({ javaScriptEnabled: false,
    viewport: { width: 480, height: 640 }, locale: 'en-US' });
  const page = await ctx.newPage();
  await page.goto(`${base}/login`);
  await page.getByLabel('Phone number').fill('+33612345670');
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Send code' }).click(),
  ]);
  assert.equal(resp.status(), 428);
  await page.waitForLoadState();
  const alert = page.getByRole('alert');
  assert.match(await alert.textContent(), /this step needs JavaScript/);
  await page.screenshot({ path: path.join(shots, 'stepup-3-no-js.png') });
  await ctx.close();
});

// The shipped app.js on a challenge of the page's form shape: the form's
// submit is caught, with the time from the script's start.
async function timeSolve(page, bits) {
  await page.goto(`${base}/login`);
  const ch = `1.${bits}.${Math.floor(Date.now() / 1000) + 120}.` +
    `${crypto.randomBytes(16).toString('base64url')}.` +
    `${crypto.randomBytes(16).toString('base64url')}`;
  await page.evaluate((c) => {
    const f = document.createElement('form');
    f.setAttribute('data-pow', c);
    const i = document.createElement('input');
    i.type = 'hidden';
    i.name = 'pow';
    f.appendChild(i);
    const p = document.createElement('p');
    p.id = 'pow-status';
    p.setAttribute('data-text', 'Checking your browser…');
    p.setAttribute('data-fail', 'failed');
    document.body.append(p, f);
    f.submit = () => {
      window.powDone = { ms: performance.now() - window.powT0, sol: i.value };
    };
    window.powT0 = performance.now();
  }, ch);
  await page.addScriptTag({ url: `/login/app.js?t=${Math.random()}` });
  const done = await (await page.waitForFunction(() => window.powDone,
    null, { timeout: 240000 })).jsonValue();
  assert.ok(done.sol.startsWith(ch + '.'));
  const h = crypto.createHash('sha256').update(done.sol).digest();
  let z = 0;
  while (z < bits && !(h[z >> 3] & (0x80 >> (z & 7)))) z++;
  assert.equal(z, bits);
  return { ms: done.ms, tries: Number(done.sol.split('.').pop()) + 1 };
}

test(`the shipped solver at 18 bits, ${RUNS} challenges, as is and at 4x CPU slowdown`,
  { timeout: RUNS * 2 * 240000 }, async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    for (const rate of [1, 4]) {
      const cdp = await ctx.newCDPSession(page);
      await cdp.send('Emulation.setCPUThrottlingRate', { rate });
      const runs = [];
      for (let i = 0; i < RUNS; i++) runs.push(await timeSolve(page, 18));
      const ms = stats(runs.map((r) => r.ms));
      const tries = stats(runs.map((r) => r.tries));
      const rateKh = runs.reduce((a, r) => a + r.tries, 0) /
        runs.reduce((a, r) => a + r.ms, 0);
      console.log(`# 18 bits, CPU x${rate}: ms mean ${ms.mean.toFixed(0)} ` +
        `median ${ms.median.toFixed(0)} min ${ms.min.toFixed(0)} max ` +
        `${ms.max.toFixed(0)}; counters tried mean ${tries.mean.toFixed(0)} ` +
        `median ${tries.median} max ${tries.max} (expected 262144); ` +
        `${rateKh.toFixed(0)}k hashes/s`);
      console.log(`# runs x${rate}: ` +
        runs.map((r) => `${r.ms.toFixed(0)}ms/${r.tries}`).join(' '));
      await cdp.detach();
    }
    await ctx.close();
  });
