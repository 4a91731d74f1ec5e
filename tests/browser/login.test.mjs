// The hosted login page in a real browser: headless Chromium (Debian's,
// driven by playwright-core) in front of real nginx configured by
// examples/nginx/otpd.conf (ports rewritten, as tests/http/test_nginx.py
// does), otpd with the file SMS sink, and a small protected app.
// Run by scripts/run-tests (suite "browser"); screenshots of each step go
// to $OTPD_SCREENSHOTS or a temp dir (printed). What both browser tests
// share is in fixture.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';

import { CHROMIUM, CHROMIUM_ARGS, REPO, Work, freePort } from './fixture.mjs';

const NGINX = fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
const PHONE = '+14155550100';
const APP_NAME = 'Acme Orders';

const work = new Work('otpd-browser-');
let app, ctx, page, base;

async function shot(name) {
  await page.screenshot({ path: path.join(work.shots, `${name}.png`) });
}

before(async () => {
  // the protected app: shows who nginx says is logged in
  app = http.createServer((req, res) => {
    const who = req.headers['x-auth-phone'] || '';
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(`<!doctype html><title>Orders</title><h1>Orders</h1>
<p>Logged in as <span id="who">${who.replace(/[^+0-9]/g, '')}</span></p>
<form method="post" action="/auth/logout"><button id="logout">Log out</button></form>`);
  });
  await new Promise((r) => app.listen(0, '127.0.0.1', r));
  const appPort = app.address().port;

  const otpdPort = await freePort();
  await work.startOtpd(otpdPort, [
    '--trusted-proxies', '127.0.0.1', '--limit-ip', '0',
    '--app-name', APP_NAME, '--domain', '127.0.0.1',
  ]);

  const ngxPort = await freePort();
  const ngx = work.file('nginx');
  fs.mkdirSync(path.join(ngx, 'tmp'), { recursive: true });
  let site = fs.readFileSync(path.join(REPO, 'examples/nginx/otpd.conf'),
    'utf8');
  site = site.replace('server 127.0.0.1:8080;', `server 127.0.0.1:${otpdPort};`)
    .replace('server 127.0.0.1:3000;', `server 127.0.0.1:${appPort};`)
    .replace('listen 80;', `listen 127.0.0.1:${ngxPort};`);
  assert.ok(site.includes(String(otpdPort)) && site.includes(String(ngxPort)));
  fs.writeFileSync(path.join(ngx, 'site.conf'), site);
  const t = path.join(ngx, 'tmp');
  fs.writeFileSync(path.join(ngx, 'nginx.conf'), `
pid ${ngx}/nginx.pid;
error_log ${ngx}/error.log warn;
daemon off;
worker_processes 1;
user root;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path ${t}; proxy_temp_path ${t};
    fastcgi_temp_path ${t}; uwsgi_temp_path ${t}; scgi_temp_path ${t};
    include ${ngx}/site.conf;
}
`);
  const n = work.start(NGINX, ['-p', ngx, '-c', path.join(ngx, 'nginx.conf')],
    'nginx');
  base = `http://127.0.0.1:${ngxPort}`;
  await work.waitHttp(`${base}/auth/session`, n, 'nginx');

  ctx = await chromium.launchPersistentContext(work.file('profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, '--disable-quic'],
    viewport: { width: 480, height: 640 },
    locale: 'en-US',
  });
  page = ctx.pages()[0] || await ctx.newPage();
  console.log(`# screenshots in ${work.shots}`);
});

after(async () => {
  if (ctx) await ctx.close();
  await work.stop();
  if (app) app.close();
});

test('protected page -> login -> code from the SMS -> back, then logout',
  async () => {
    await page.goto(`${base}/orders?id=7`);
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.equal(new URL(page.url()).searchParams.get('rd'), '/orders?id=7');
    assert.equal(await page.textContent('h1'), APP_NAME);
    // the page says whether this browser has WebOTP, as it detected it
    const has = await page.evaluate(() => 'OTPCredential' in window);
    assert.equal(await page.getAttribute('html', 'data-webotp'),
      has ? 'yes' : 'no');
    await page.focus('#phone'); // the label names the field, focus shows
    await page.getByLabel('Phone number').fill(PHONE);
    await shot('1-phone');
    await page.getByRole('button', { name: 'Send code' }).click();

    const code = page.getByLabel('Code from the SMS');
    await code.waitFor();
    assert.equal(await code.getAttribute('autocomplete'), 'one-time-code');
    // "send again" counts down from the cooldown
    const resend = page.locator('#resend');
    // the page's script disables it when it runs (under load, after the
    // code field is already there): wait for that, then look
    await page.waitForFunction(() => document.getElementById('resend').disabled,
      null, { timeout: 5000 });
    assert.ok(await resend.isDisabled());
    assert.match(await resend.textContent(), /^Send again in \d+ s$/);
    const body = await work.waitSms(PHONE, 1);
    const digits = body.match(/\b(\d{4,10})\b/)[1];
    // the last line is the one WebOTP and the keyboards read
    assert.equal(body.trim().split('\n').pop(), `@127.0.0.1 #${digits}`);
    await shot('2-code');

    await code.fill(digits === '000000' ? '111111' : '000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#err').waitFor();
    assert.match(await page.textContent('#err'),
      /^That code is wrong\. Attempts left: \d+\.$/);
    // the cooldown still counts down on the page after a wrong code
    assert.match(await page.textContent('#resend'), /^Send again in \d+ s$/);
    await shot('3-wrong-code');

    await page.getByLabel('Code from the SMS').fill(digits);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/orders?id=7`);
    assert.equal(await page.textContent('#who'), PHONE);
    await shot('4-logged-in');

    await page.click('#logout');
    await page.waitForLoadState();
    await page.goto(`${base}/orders?id=7`);
    assert.equal(new URL(page.url()).pathname, '/login');
    await shot('5-logged-out');
  });
