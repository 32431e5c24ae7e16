#!/bin/bash
# run.sh SECONDS TARGET...: runs each libFuzzer target for SECONDS on its
# seed corpus (tests/fuzz/corpus/<target>, plus a scratch copy for what it
# finds) and prints "fuzz: N passed, M failed".  A crash, leak or
# sanitizer report fails the target; its reproducer is left in build/fuzz/.
secs=$1; shift
cd "$(dirname "$0")/../.." || exit 1
passed=0; failed=0
for t in "$@"; do
	seeds=tests/fuzz/corpus/$t
	work=build/fuzz/corpus-$t
	mkdir -p "$seeds" "$work"
	if build/fuzz/$t -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix=build/fuzz/$t- -print_final_stats=0 \
	    "$work" "$seeds" >build/fuzz/$t.log 2>&1; then
		echo "PASS fuzz $t ($secs s, $(grep -o 'cov: [0-9]*' build/fuzz/$t.log | tail -1))"
		passed=$((passed + 1))
	else
		echo "FAIL fuzz $t: $(grep -m1 -E 'ERROR|SUMMARY|runtime error' build/fuzz/$t.log)"
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
