#!/bin/sh
# tests/browser/run.sh BUILD - the login page in headless Chromium behind
# nginx (login.test.mjs), and its proof-of-work step-up (stepup.test.mjs),
# with node --test. Installs the pinned playwright-core
# with `npm ci` when node_modules is missing or older than the lockfile.
# Skips, saying why, only when chromium, node or npm is not installed.
# Ends with one "N passed, N failed" line for scripts/run-tests.
set -u
build=$1
here=$(cd "$(dirname "$0")" && pwd)
for bin in /usr/bin/chromium node npm nginx; do
	if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x /usr/sbin/"$bin" ]; then
		echo "browser: SKIPPED: $bin is not installed (scripts/deps test installs chromium, nodejs, npm and nginx)"
		echo "browser: 0 passed, 0 failed"
		exit 0
	fi
done
if [ ! -d "$here/node_modules/playwright-core" ] ||
	[ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
	(cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || {
		echo "browser: npm ci failed"
		echo "browser: 0 passed, 1 failed"
		exit 1
	}
fi
log=$(mktemp)
OTPD_BIN="$(pwd)/$build/otpd" node --test --test-reporter=spec \
	"$here/login.test.mjs" "$here/stepup.test.mjs" >"$log" 2>&1
rc=$?
cat "$log"
p=$(grep -o 'pass [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$')
f=$(grep -o 'fail [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$')
rm -f "$log"
[ "$rc" = 0 ] || [ "${f:-0}" != 0 ] || f=1
echo "browser: ${p:-0} passed, ${f:-1} failed"
exit $rc
