#!/bin/bash
# asan_daemon_test.sh: the end-to-end slice with bulkheadd built with
# AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer
# (build/asan/bulkheadd, made by `make asan`).  Any sanitizer report
# during the run, including leaks found when the daemon exits on SIGTERM,
# fails the test.  The daemon runs with --no-seccomp: at exit
# LeakSanitizer calls prctl and stops the threads with ptrace from a clone
# of the process, which the filter kills with SIGSYS (seen); capabilities
# are dropped all the same.
. "$(dirname "$0")/lib.sh"
need_root
BIN=$ROOT/build/asan/bulkheadd
if [ ! -x "$BIN" ]; then
	fail "sanitized daemon missing: run 'make asan' first ($BIN)"
	finish; exit 1
fi
REP=$(mktemp -d /tmp/bulkhead-asan.XXXXXX)
trap 'rm -rf "$REP"' EXIT
export ASAN_OPTIONS="log_path=$REP/asan:detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="log_path=$REP/ubsan:print_stacktrace=1:halt_on_error=1"
BULKHEADD=$BIN BULKHEADD_ARGS=--no-seccomp "$(dirname "$0")/slice_test.sh" >"$REP/slice.out" 2>&1
rc=$?
unset ASAN_OPTIONS UBSAN_OPTIONS
grep -E '^(PASS|FAIL)' "$REP/slice.out" | sed 's/^\(PASS\|FAIL\) /\1 asan: /'
npass=$(grep -c '^PASS' "$REP/slice.out")
nfail=$(grep -c '^FAIL' "$REP/slice.out")
[ $rc -ne 0 ] && [ "$nfail" -eq 0 ] && fail "slice under ASan exited $rc"
reports=$(ls "$REP" | grep -E '^(asan|ubsan)' || true)
if [ -n "$reports" ]; then
	fail "sanitizer reports from bulkheadd: $(head -30 "$REP"/asan* "$REP"/ubsan* 2>/dev/null)"
else
	pass "no ASan/LSan/UBSan report from bulkheadd over the whole slice"
fi
finish
