#!/bin/bash
# run-sh.sh TEST...: runs shell tests that print PASS/FAIL lines (the man
# pages, make install; no root) and prints "sh: N passed, M failed".  A
# test that exits non-zero without a FAIL line counts as one failure.
passed=0; failed=0
for t in "$@"; do
	name=$(basename "$t")
	out=$(timeout 300 bash "$t" 2>&1); rc=$?
	grep -E '^(PASS|FAIL)' <<<"$out"
	p=$(grep -c '^PASS' <<<"$out"); f=$(grep -c '^FAIL' <<<"$out")
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $name exited $rc without a failed check:"
		tail -15 <<<"$out"
		f=1
	fi
	passed=$((passed + p)); failed=$((failed + f))
done
echo "sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
