#!/bin/sh
# tests/install/run.sh BUILD - `make install` into a temporary DESTDIR and
# checks what landed there: the files and their modes, the installed otpd and
# otpctl, the man page (man -l), the unit (systemd-analyze verify --root, which
# resolves ExecStart inside DESTDIR, without systemd as PID 1) and its
# exposure (systemd-analyze security --offline), then `make uninstall`.
# Ends with "install: N passed, N failed" like the unit binaries.
set -u
build=${1:-build}
max_exposure=2.0
passed=0 failed=0
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
ok() { passed=$((passed + 1)); echo "ok   install.$1"; }
bad() { failed=$((failed + 1)); echo "FAIL install.$1${2:+: $2}"; }
check() { name=$1; shift; if "$@" >/dev/null 2>&1; then ok "$name"; else bad "$name"; fi; }
mode() { [ "$(stat -c %a "$dest$2")" = "$1" ]; }

prefix=/usr/local # the default, and on the unit search path under --root
unit=$prefix/lib/systemd/system/otpd.service
if ! make --no-print-directory -s install BUILD="$build" DESTDIR="$dest" \
	>"$dest/make.log" 2>&1; then
	cat "$dest/make.log"
	bad make_install
	echo "install: $passed passed, $failed failed"
	exit 1
fi
ok make_install
check otpd_mode mode 755 $prefix/bin/otpd
check otpctl_mode mode 755 $prefix/bin/otpctl
check man_mode mode 644 $prefix/share/man/man8/otpd.8
check unit_mode mode 644 $unit
check unit_execstart grep -q "^ExecStart=$prefix/bin/otpd " "$dest$unit"
check otpd_version sh -c "'$dest$prefix/bin/otpd' --version | grep -q '^otpd [0-9]'"
check otpctl_version sh -c "'$dest$prefix/bin/otpctl' --version | grep -q '^otpctl [0-9]'"
check otpctl_help sh -c "'$dest$prefix/bin/otpctl' --help | grep -q '^usage: otpctl'"
check man_renders sh -c "MANWIDTH=80 man -l '$dest$prefix/share/man/man8/otpd.8' | grep -q -- --store"
if out=$(systemd-analyze verify --man=no --recursive-errors=no --root="$dest" \
	"$dest$unit" 2>&1) && [ -z "$out" ]; then
	ok unit_verify
else
	bad unit_verify "$out"
fi
line=$(systemd-analyze security --offline=true --root="$dest" "$dest$unit" 2>&1 |
	grep 'Overall exposure level')
score=$(printf '%s\n' "$line" | sed -n 's/.*: \([0-9.]*\) .*/\1/p')
echo "     ${line:-no exposure line}"
if [ -n "$score" ] && awk -v s="$score" -v m=$max_exposure 'BEGIN { exit !(s <= m) }'; then
	ok "unit_exposure_at_most_$max_exposure"
else
	bad "unit_exposure_at_most_$max_exposure" "${score:-none}"
fi
make --no-print-directory -s uninstall BUILD="$build" DESTDIR="$dest" >/dev/null 2>&1
check uninstall_leaves_no_file sh -c "[ -z \"\$(find '$dest' -type f ! -name make.log)\" ]"
check prefix_opt sh -c "make --no-print-directory -s install BUILD='$build' \
	DESTDIR='$dest' PREFIX=/opt/otpd && [ -x '$dest/opt/otpd/bin/otpd' ] &&
	grep -q '^ExecStart=/opt/otpd/bin/otpd ' '$dest/opt/otpd/lib/systemd/system/otpd.service'"
echo "install: $passed passed, $failed failed"
[ "$failed" = 0 ]
