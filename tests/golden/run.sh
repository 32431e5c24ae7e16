#!/bin/bash
# run.sh: golden tests in the manner of pfctl's: for each case directory,
# `bulkhead plan --rules CASE/rules --inventory CASE/inventory.json` must
# print CASE/expected.nft exactly.  A case may instead hold expected.err:
# then plan must fail and print exactly that on stderr.  Cases may also
# hold explain/NAME.args with explain/NAME.out (see below).
# REGEN=1 rewrites the expected files (review the diff before committing).
cd "$(dirname "$0")/../.." || exit 1
passed=0; failed=0
for c in tests/golden/*/; do
	c=${c%/}; name=$(basename "$c")
	chmod -R go-w "$c/rules"
	out=$(build/bulkhead plan --rules "$c/rules" --inventory "$c/inventory.json" 2>"$c.stderr"); rc=$?
	if [ -f "$c/expected.err" ]; then
		[ -n "${REGEN:-}" ] && sed "s|$c/||g" "$c.stderr" >"$c/expected.err"
		if [ $rc -ne 0 ] && diff -u "$c/expected.err" <(sed "s|$c/||g" "$c.stderr"); then
			echo "PASS golden $name (refused as expected)"; passed=$((passed + 1))
		else
			echo "FAIL golden $name: exit $rc"; failed=$((failed + 1))
		fi
	else
		[ -n "${REGEN:-}" ] && printf '%s\n' "$out" >"$c/expected.nft"
		if [ $rc -eq 0 ] && diff -u "$c/expected.nft" <(printf '%s\n' "$out"); then
			echo "PASS golden $name"; passed=$((passed + 1))
		else
			echo "FAIL golden $name: exit $rc $(head -3 "$c.stderr")"; failed=$((failed + 1))
		fi
		# What plan prints must be a ruleset nft itself accepts (operators
		# diff it, and `make bench` loads it with nft -f as the anchor).
		# Checked in a throwaway network namespace: the host is untouched.
		if [ "$(id -u)" = 0 ]; then
			if err=$(printf '%s\n' "$out" | unshare -n nft -c -f - 2>&1); then
				echo "PASS golden $name: nft -c -f accepts the plan"; passed=$((passed + 1))
			else
				echo "FAIL golden $name: nft -c -f rejects the plan: $(printf '%s' "$err" | head -3)"
				failed=$((failed + 1))
			fi
		fi
	fi
	rm -f "$c.stderr"
	# explain/NAME.args: `bulkhead explain --rules --inventory ARGS` must
	# print explain/NAME.out (stdout and stderr, then its exit status).
	for a in "$c"/explain/*.args; do
		[ -f "$a" ] || continue
		e=${a%.args}.out
		# shellcheck disable=SC2046 # the arguments are words
		got=$(build/bulkhead explain --rules "$c/rules" --inventory "$c/inventory.json" \
			$(cat "$a") 2>&1; echo "exit $?")
		got=$(sed "s|$c/||g" <<<"$got")
		[ -n "${REGEN:-}" ] && printf '%s\n' "$got" >"$e"
		if diff -u "$e" <(printf '%s\n' "$got"); then
			echo "PASS golden $name explain $(basename "$a" .args)"; passed=$((passed + 1))
		else
			echo "FAIL golden $name explain $(basename "$a" .args)"; failed=$((failed + 1))
		fi
	done
done
echo "golden: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
