#!/bin/bash
# run-all.sh: every test of `make check`, one summary at the end.
#   1. unit tests (cmocka), 2. the same under ASan+UBSan,
#   3. the man pages, the systemd unit and make install (tests/unit/*_test.sh),
#   4. end-to-end tests with real nftables and a real Docker engine.
# Prints "N passed, M failed" last; exits non-zero on any failure.
cd "$(dirname "$0")/.." || exit 1
total_p=0; total_f=0
add() { # add LOGFILE: sums the "N passed, M failed" line of a stage
	local line p f
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
	p=$(sed -E 's/.* ?([0-9]+) passed.*/\1/' <<<"$line")
	f=$(sed -E 's/.*passed, ([0-9]+) failed.*/\1/' <<<"$line")
	[ -z "$line" ] && { p=0; f=1; echo "no summary in $1: counted as a failure"; }
	total_p=$((total_p + p)); total_f=$((total_f + f))
}
log=$(mktemp -d)
UNIT=$(cd tests/unit && ls test_*.c | sed 's/\.c$//')

echo "== unit tests"
tests/run-unit.sh build/tests $UNIT | tee "$log/unit"
add "$log/unit"
echo "== golden plans (policy + inventory -> ruleset)"
tests/golden/run.sh | tee "$log/golden"
add "$log/golden"
echo "== unit tests under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1 tests/run-unit.sh build/asan/tests $UNIT | tee "$log/asan"
add "$log/asan"

echo "== fuzzing the parsers (${FUZZ_SECONDS:-20} s each)"
tests/fuzz/run.sh "${FUZZ_SECONDS:-20}" $(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//') | tee "$log/fuzz"
add "$log/fuzz"

echo "== man pages, systemd unit, make install (no root)"
tests/run-sh.sh tests/unit/*_test.sh | tee "$log/sh"
add "$log/sh"

echo "== end-to-end tests (root, nftables, Docker)"
if [ "$(id -u)" != 0 ]; then
	echo "end-to-end tests need root: 0 passed, 1 failed" | tee "$log/e2e-root"
	add "$log/e2e-root"
else
	tools/docker-up.sh || echo "docker-up failed"
	for t in build/e2e/*_test tests/e2e/*_test.sh; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		echo "-- $name"
		timeout 600 "$t" >"$log/$name" 2>&1; rc=$?
		grep -E '^(PASS|FAIL)' "$log/$name"
		p=$(grep -c '^PASS' "$log/$name"); f=$(grep -c '^FAIL' "$log/$name")
		if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
			echo "FAIL $name exited $rc without a failed check:"; tail -15 "$log/$name"
			f=1
		fi
		total_p=$((total_p + p)); total_f=$((total_f + f))
	done
fi
rm -rf "$log"
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
