#!/bin/bash
# run-unit.sh DIR TEST...: runs cmocka unit test programs and prints
# "unit: N passed, M failed" from their own summaries.
dir=$1; shift
passed=0; failed=0
for t in "$@"; do
	out=$("$dir/$t" 2>&1); rc=$?
	echo "$out" | grep -E '^\[  (FAILED|ERROR)|^\[ +(PASSED|FAILED) +\]' | sed "s/^/$t: /"
	p=$(echo "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(echo "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	p=${p:-0}; f=${f:-0}
	# A crash or sanitizer abort leaves no summary: count the program as failed.
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "$out" | tail -20 | sed "s/^/$t: /"
		f=1
	fi
	passed=$((passed + p)); failed=$((failed + f))
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
