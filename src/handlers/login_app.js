/* otpd login page: WebOTP, the send-again countdown and the step-up's
 * proof of work. The page works without this file, but for the
 * step-up. (Served as /login/app.js: the build makes this file a C
 * string of handlers/login_page.c.) */
(function () {
  'use strict';
  var d = document, webotp = 'OTPCredential' in window;
  d.documentElement.setAttribute('data-webotp', webotp ? 'yes' : 'no');
  var code = d.getElementById('code');
  if (code && webotp && navigator.credentials) {
    var ac = new AbortController();
    code.form.addEventListener('submit', function () { ac.abort(); });
    navigator.credentials.get({otp: {transport: ['sms']}, signal: ac.signal})
      .then(function (otp) {
        if (otp && otp.code) { code.value = otp.code; code.form.submit(); }
      }).catch(function () {});
  }
  Array.prototype.forEach.call(d.querySelectorAll('[data-wait]'), function (b) {
    var left = parseInt(b.getAttribute('data-wait'), 10) || 0;
    var label = b.textContent, later = b.getAttribute('data-later');
    (function tick() {
      if (left <= 0) { b.disabled = false; b.textContent = label; return; }
      b.disabled = true;
      b.textContent = later.replace('{n}', String(left));
      left -= 1;
      setTimeout(tick, 1000);
    })();
  });

  /* SHA-256 (FIPS 180-4) in plain JavaScript. Web Crypto's digest() is a
   * promise per call, and that overhead, not the hash, bounds it to some
   * 25k-100k digests a second; this does several times more, because a
   * challenge is one whole block (abuse/pow.h: "<challenge>." is 64
   * bytes) hashed once, and a try is then one block: the counter's. */
  var K = new Int32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);
  var IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f,
    0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
  var W = new Int32Array(64);

  /* W[0..15] from the 64 bytes of m at off, big-endian. */
  function load(m, off) {
    for (var i = 0; i < 16; i++, off += 4)
      W[i] = m[off] << 24 | m[off + 1] << 16 | m[off + 2] << 8 | m[off + 3];
  }

  /* One compression of the block in W[0..15] on state h, into out (which
   * may be h). */
  function block(h, out) {
    var i, x, y, t1, t2;
    for (i = 16; i < 64; i++) {
      x = W[i - 15]; y = W[i - 2];
      W[i] = (((x >>> 7 | x << 25) ^ (x >>> 18 | x << 14) ^ x >>> 3) +
        W[i - 7] + ((y >>> 17 | y << 15) ^ (y >>> 19 | y << 13) ^ y >>> 10) +
        W[i - 16]) | 0;
    }
    var a = h[0], b = h[1], c = h[2], e = h[4], f = h[5], g = h[6];
    var dd = h[3], hh = h[7];
    for (i = 0; i < 64; i++) {
      t1 = (hh + ((e >>> 6 | e << 26) ^ (e >>> 11 | e << 21) ^
        (e >>> 25 | e << 7)) + (e & f ^ ~e & g) + K[i] + W[i]) | 0;
      t2 = (((a >>> 2 | a << 30) ^ (a >>> 13 | a << 19) ^
        (a >>> 22 | a << 10)) + (a & b ^ a & c ^ b & c)) | 0;
      hh = g; g = f; f = e; e = (dd + t1) | 0;
      dd = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    out[0] = (h[0] + a) | 0; out[1] = (h[1] + b) | 0;
    out[2] = (h[2] + c) | 0; out[3] = (h[3] + dd) | 0;
    out[4] = (h[4] + e) | 0; out[5] = (h[5] + f) | 0;
    out[6] = (h[6] + g) | 0; out[7] = (h[7] + hh) | 0;
  }

  /* The final block(s) of a message whose last n bytes (of len in all)
   * are tail: tail, 0x80, zeros, the length in bits. */
  function final(tail, n, len) {
    var p = new Uint8Array(n + 9 <= 64 ? 64 : 128), bits = len * 8;
    p.set(tail.subarray(0, n));
    p[n] = 0x80;
    for (var i = 1; i <= 4; i++) p[p.length - i] = bits >>> (8 * i - 8);
    for (i = 5; i <= 8; i++)
      p[p.length - i] = Math.floor(bits / 0x100000000) >>> (8 * i - 40);
    return p;
  }

  /* SHA-256 of the bytes m (a Uint8Array): 32 bytes. */
  function sha256(m) {
    var h = new Int32Array(IV), whole = m.length - m.length % 64;
    for (var o = 0; o < whole; o += 64) { load(m, o); block(h, h); }
    var p = final(m.subarray(whole), m.length - whole, m.length);
    for (o = 0; o < p.length; o += 64) { load(p, o); block(h, h); }
    var out = new Uint8Array(32);
    for (var i = 0; i < 32; i++) out[i] = h[i >> 2] >>> (24 - 8 * (i & 3));
    return out;
  }
  /* for the browser test's check against Web Crypto */
  window.otpdSha256 = sha256;

  /* A solver of "<prefix><counter>" (the counter in decimal, from 0 up):
   * next(n) tries the next n counters and answers the first whose
   * SHA-256 starts with `bits` (1..32) zero bits, or -1. The prefix's
   * whole blocks are hashed once; a try writes the counter's digits into
   * the final block(s) it keeps (only the last ones change, mostly) and
   * hashes those. */
  function solver(prefix, bits) {
    var m = new Uint8Array(prefix.length), i;
    for (i = 0; i < m.length; i++) m[i] = prefix.charCodeAt(i) & 0xff;
    var whole = m.length - m.length % 64, r = m.length - whole;
    var mid = new Int32Array(IV), tmp = new Int32Array(8);
    var out = new Int32Array(8);
    for (i = 0; i < whole; i += 64) { load(m, i); block(mid, mid); }
    var tail = new Uint8Array(r + 16), digits = 1, p, c = 0;
    tail.set(m.subarray(whole));
    tail[r] = 48; /* "0" */
    p = final(tail, r + digits, m.length + digits);
    return function next(n) {
      for (; n > 0; n--, c++) {
        if (p.length === 64) {
          load(p, 0); block(mid, out);
        } else {
          load(p, 0); block(mid, tmp); load(p, 64); block(tmp, out);
        }
        if (out[0] >>> (32 - bits) === 0) return c;
        /* the next counter: add one to the decimal digits */
        for (i = r + digits - 1; i >= r && p[i] === 57; i--) p[i] = 48;
        if (i >= r) { p[i]++; continue; }
        digits++;
        tail[r] = 49;
        for (i = 1; i < digits; i++) tail[r + i] = 48;
        p = final(tail, r + digits, m.length + digits);
      }
      return -1;
    };
  }

  /* The step-up: the first counter c for which SHA-256("<challenge>.c")
   * starts with the challenge's bits of zeros. Asks Web Crypto, where
   * there is one, whether it agrees with this SHA-256 once, then works
   * in slices of some 40 ms on the main thread, so the page and its
   * live region ("Checking your browser...") stay responsive. */
  var pf = d.querySelector('form[data-pow]'), ps = d.getElementById('pow-status');
  if (pf && ps) {
    var ch = pf.getAttribute('data-pow'), bits = parseInt(ch.split('.')[1], 10);
    var fail = function () { ps.textContent = ps.getAttribute('data-fail'); };
    if (!(bits > 0 && bits <= 32)) fail();
    else {
      ps.textContent = ps.getAttribute('data-text');
      var btn = pf.querySelector('button[type=submit]');
      if (btn) btn.disabled = true;
      var next = solver(ch + '.', bits);
      var slice = function () {
        var t0 = Date.now(), got;
        do {
          got = next(2048);
          if (got >= 0) {
            pf.elements.pow.value = ch + '.' + got;
            pf.submit();
            return;
          }
        } while (Date.now() - t0 < 40);
        setTimeout(slice, 0);
      };
      var subtle = window.crypto && window.crypto.subtle;
      var probe = new Uint8Array(100);
      for (var i = 0; i < probe.length; i++) probe[i] = i * 7;
      if (!subtle) slice();
      else subtle.digest('SHA-256', probe).then(function (h) {
        var a = new Uint8Array(h), b = sha256(probe);
        for (var i = 0; i < 32; i++) if (a[i] !== b[i]) return fail();
        slice();
      }, slice);
    }
  }
})();
