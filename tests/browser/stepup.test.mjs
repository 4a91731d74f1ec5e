// The login page's proof-of-work step-up in a real browser: headless
// Chromium (Debian's, driven by playwright-core) on otpd's own port
// (127.0.0.1 is a secure context, so Web Crypto is there). This address
// first logs in once and sends a code to a second region through the API
// (its code typed: an address that never had one accepted is blocked at
// its second region), so the page's send to
// a third is answered 428 (the rules' ip_spread step-up): the page's
// script must solve the challenge and post again, and the code step must
// follow; with JavaScript off the page must say that the step needs it.
// The script's own SHA-256 must agree with Web Crypto's. Then the shipped
// app.js is timed on fresh challenges at the default difficulty (or each
// of $OTPD_POW_BITS, e.g. "14 15 16"), $OTPD_POW_RUNS of them (4), as is
// and with the CPU slowed 4x (a phone-class stand-in): mean, p95.
// Screenshots go to $OTPD_SCREENSHOTS or a temp dir (printed). What both
// browser tests share is in fixture.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { chromium } from 'playwright-core';

import { CHROMIUM, CHROMIUM_ARGS, Work, freePort } from './fixture.mjs';

const US = '+14155550100', GB = '+447400123456', FR = '+33612345678';
const RUNS = Number(process.env.OTPD_POW_RUNS || 4);
const DEFAULT_BITS = 13; // src/core/config.c, --fraud-pow-bits
const BITS = (process.env.OTPD_POW_BITS || String(DEFAULT_BITS)).split(/\s+/)
  .filter(Boolean).map(Number);

const work = new Work('otpd-stepup-');
let browser, base;

async function apiSend(phone) {
  const r = await fetch(`${base}/auth/send-otp`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ phone }),
  });
  assert.equal(r.status, 200, await r.text());
  return r.headers.get('set-cookie').split(';')[0];
}

// A login through the API from this address: its code typed (an address
// that never had one accepted is blocked at its second region).
async function apiLogin(phone) {
  const cookie = await apiSend(phone);
  const code = (await work.waitSms(phone)).match(/\d{6}/)[0];
  const r = await fetch(`${base}/auth/verify-otp`, {
    method: 'POST', body: JSON.stringify({ code }),
    headers: { 'Content-Type': 'application/json', Cookie: cookie },
  });
  assert.equal(r.status, 200, await r.text());
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { mean, median: s[Math.floor(s.length / 2)], max: s[s.length - 1],
    min: s[0], p95: s[Math.max(0, Math.ceil(s.length * 0.95) - 1)] };
}

before(async () => {
  const port = await freePort();
  await work.startOtpd(port, [
    '--limit-ip', '0', '--fraud', 'enforce', '--app-name', 'Acme Orders',
  ]);
  base = `http://127.0.0.1:${port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS,
  });
  console.log(`# screenshots in ${work.shots}`);
});

after(async () => {
  if (browser) await browser.close();
  await work.stop();
});

test('a send that needs a proof of work: the page solves it and the code step follows',
  { timeout: 240000 }, async () => {
    // this address has sent to two regions: a third needs a proof
    await apiLogin(US);
    await apiSend(GB);
    const ctx = await browser.newContext({
      viewport: { width: 480, height: 640 }, locale: 'en-US' });
    const page = await ctx.newPage();
    // Web Crypto waits until the "checking" state is on file: the page
    // asks it once (does it agree with the script's SHA-256?) before its
    // search, which then starts when the test says so
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
      if (r.method() === 'POST' && /(^|&)pow=2\./.test(body)) {
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
    await page.screenshot({ path: path.join(work.shots, 'stepup-1-checking.png') });
    const releasedAt = performance.now();
    await page.evaluate(() => window.powRelease());
    const code = page.getByLabel('Code from the SMS');
    await code.waitFor({ timeout: 180000 });
    assert.ok(challenged, 'the send was never answered 428');
    assert.ok(pow, 'the page never posted a solution');
    // the solution: the challenge, a counter, SHA-256 with the default
    // bits of zeros
    const [v, bits] = pow.split('.');
    assert.equal(v, '2');
    assert.equal(Number(bits), DEFAULT_BITS);
    assert.equal(pow.lastIndexOf('.'), 63);
    assert.equal(zeroBits(crypto.createHash('sha256').update(pow).digest()) >=
      DEFAULT_BITS, true);
    const counter = Number(pow.split('.').pop());
    console.log(`# page flow: solved and posted ${
      (postedAt - releasedAt).toFixed(0)} ms after its digests could start, ${
      counter + 1} counters tried`);
    await work.waitSms(FR);
    await page.screenshot({ path: path.join(work.shots, 'stepup-2-code.png') });
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
  await page.screenshot({ path: path.join(work.shots, 'stepup-3-no-js.png') });
  await ctx.close();
});

test("the script's SHA-256 agrees with Web Crypto's", async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${base}/login`);
  await page.waitForFunction(() => typeof window.otpdSha256 === 'function');
  const bad = await page.evaluate(async () => {
    const hex = (b) => Array.from(new Uint8Array(b),
      (x) => x.toString(16).padStart(2, '0')).join('');
    const out = [];
    // every length across the padding's edges (55, 56, 63, 64, 119, 120),
    // a long one, and solutions' shape
    const lens = [];
    for (let n = 0; n <= 200; n++) lens.push(n);
    lens.push(1000, 4096 + 17);
    for (const n of lens) {
      const m = crypto.getRandomValues(new Uint8Array(n));
      const a = hex(window.otpdSha256(m));
      const b = hex(await crypto.subtle.digest('SHA-256', m));
      if (a !== b) out.push(n);
    }
    const enc = new TextEncoder();
    for (let c = 0; c < 2000; c += 7) {
      const m = enc.encode('2.15.001800000000.AAAAAAAAAAAAAAAAAAAAAA.' +
        'BBBBBBBBBBBBBBBBBBBBBB.' + c);
      if (hex(window.otpdSha256(m)) !==
          hex(await crypto.subtle.digest('SHA-256', m))) out.push('c' + c);
    }
    return out;
  });
  assert.deepEqual(bad, []);
  await ctx.close();
});

function zeroBits(h) {
  let z = 0;
  while (z < 256 && !(h[z >> 3] & (0x80 >> (z & 7)))) z++;
  return z;
}

// The shipped app.js on a challenge of the page's form shape: the form's
// submit is caught, with the time from the script's start.
async function timeSolve(page, bits) {
  await page.goto(`${base}/login`);
  const ch = `2.${String(bits).padStart(2, "0")}.` +
    `${String(Math.floor(Date.now() / 1000) + 120).padStart(12, "0")}.` +
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
  assert.ok(zeroBits(crypto.createHash('sha256').update(done.sol).digest()) >=
    bits);
  return { ms: done.ms, tries: Number(done.sol.split('.').pop()) + 1 };
}

test(`the shipped solver at ${BITS.join(', ')} bits, ${RUNS} challenges, ` +
  'as is and at 4x CPU slowdown',
{ timeout: RUNS * BITS.length * 2 * 240000 }, async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  for (const bits of BITS)
    for (const rate of [1, 4]) {
      const cdp = await ctx.newCDPSession(page);
      await cdp.send('Emulation.setCPUThrottlingRate', { rate });
      const runs = [];
      for (let i = 0; i < RUNS; i++) runs.push(await timeSolve(page, bits));
      const ms = stats(runs.map((r) => r.ms));
      const tries = stats(runs.map((r) => r.tries));
      const rateK = runs.reduce((a, r) => a + r.tries, 0) /
        runs.reduce((a, r) => a + r.ms, 0);
      console.log(`# ${bits} bits, CPU x${rate}: ms mean ${ms.mean.toFixed(0)} ` +
        `p95 ${ms.p95.toFixed(0)} median ${ms.median.toFixed(0)} min ` +
        `${ms.min.toFixed(0)} max ${ms.max.toFixed(0)}; counters tried mean ` +
        `${tries.mean.toFixed(0)} (expected ${2 ** bits}); ` +
        `${rateK.toFixed(0)}k hashes/s`);
      console.log(`# runs ${bits} bits x${rate}: ` +
        runs.map((r) => `${r.ms.toFixed(0)}ms/${r.tries}`).join(' '));
      await cdp.detach();
    }
  await ctx.close();
});
