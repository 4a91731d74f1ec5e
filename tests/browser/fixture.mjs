// What the browser tests share: where otpd and Chromium are, Chromium's
// flags for a quiet headless run, free loopback ports, and a Work: a temp
// directory per test file (logs, the store, the file SMS sink, and the
// screenshots unless $OTPD_SCREENSHOTS names another place) with the
// processes started in it, otpd among them, and the SMS otpd wrote.
// The tests themselves, and what they start beside otpd, are in
// login.test.mjs and stepup.test.mjs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO =
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const OTPD = process.env.OTPD_BIN || path.join(REPO, 'build', 'otpd');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu',
  '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export class Work {
  constructor(prefix) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    this.shots = process.env.OTPD_SCREENSHOTS || this.file('shots');
    fs.mkdirSync(this.shots, { recursive: true });
    this.procs = [];
  }

  file(name) {
    return path.join(this.dir, name);
  }

  // Runs bin in the work directory, its output into <name>.log; stop()
  // ends it.
  start(bin, args, name) {
    const log = fs.openSync(this.file(`${name}.log`), 'a');
    const p = spawn(bin, args, { cwd: this.dir, stdio: ['ignore', log, log] });
    this.procs.push(p);
    return p;
  }

  // The first answer from url that ok() takes, within 10 s; fails with
  // proc's log when proc exits or the time is up first.
  async waitHttp(url, proc, name, ok = () => true) {
    const deadline = Date.now() + 10000;
    for (;;) {
      try {
        const r = await fetch(url);
        if (ok(r)) return r;
      } catch { /* not listening yet */ }
      if (proc.exitCode !== null || Date.now() > deadline)
        throw new Error(`${name} did not start: ` +
          fs.readFileSync(this.file(`${name}.log`), 'utf8'));
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  // otpd on 127.0.0.1:port with its store and file SMS sink in the work
  // directory, args after those; returns once /healthz answers 200.
  async startOtpd(port, args) {
    const p = this.start(OTPD, [
      '--listen', `127.0.0.1:${port}`,
      '--store', `sqlite:${this.file('otpd.db')}`,
      '--sms', `file:${this.file('sms.jsonl')}`,
      ...args,
    ], 'otpd');
    await this.waitHttp(`http://127.0.0.1:${port}/healthz`, p, 'otpd',
      (r) => r.ok);
    return p;
  }

  // The messages the file sink wrote to phone, oldest first.
  smsTo(phone) {
    const file = this.file('sms.jsonl');
    if (!fs.existsSync(file)) return [];
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)
      .map((l) => { try { return JSON.parse(l); } catch { return null; } })
      .filter((m) => m && m.to === phone);
  }

  // The body of the count-th SMS to phone, once it is there (10 s).
  async waitSms(phone, count = 1) {
    const deadline = Date.now() + 10000;
    for (;;) {
      const msgs = this.smsTo(phone);
      if (msgs.length >= count) return msgs[count - 1].body;
      assert.ok(Date.now() < deadline, `SMS #${count} to ${phone} never came`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  // Ends what start() started (SIGTERM) and waits for it.
  async stop() {
    for (const p of this.procs) if (p.exitCode === null) p.kill('SIGTERM');
    await Promise.all(this.procs.map((p) => p.exitCode !== null ? null
      : new Promise((r) => p.on('exit', r))));
  }
}
