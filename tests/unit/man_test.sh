#!/bin/bash
# man_test.sh: the man pages are well-formed and say what the programs do.
#   - `mandoc -T lint -W warning` reports nothing (no WARNING, ERROR or
#     UNSUPP message) and `man -l` renders each page without a warning;
#   - every long option in a program's getopt tables and every letter of
#     its getopt option strings has an item (.It Fl ...) in its page, and
#     (bulkhead) every verb an item (.It Cm ...): a mention in an example
#     is not documentation;
#   - every option a page names with .Fl exists in the program's tables;
#   - each page has NAME, DESCRIPTION, EXAMPLES, SEE ALSO and (but
#     bulkhead-capture.8) FILES; the programs' pages EXIT STATUS;
#   - the check itself fails on a copy of a page with an option removed;
#   - bulkhead-policy.5's namespaceSelector caveat follows what
#     build/bulkhead plan does with one (needs the build).
# No root.  MAN_DIR=DIR checks the pages in DIR instead of man/.
# Prints PASS/FAIL lines and "# man: N passed, M failed"; exits 1 on failure.
cd "$(dirname "$0")/../.." || exit 1
MAN=${MAN_DIR:-man}
passed=0; failed=0
pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

# page:source pairs; the source holds the program's getopt tables (several
# files joined by "+": a verb with its own file).
PAGES="bulkheadd.8:src/bulkheadd.c bulkhead.8:tools/bulkhead.c+tools/verify.c
bulkhead-capture.8:tools/capture.c"

# The text of source $1 ("a.c+b.c": both).
src_text() { local f; for f in ${1//+/ }; do cat "$f"; done; }

# Long options of every `struct option` table in $1, one a line.
long_opts() {
	src_text "$1" | grep -oE '\{[[:space:]]*"[a-z0-9-]+",[[:space:]]*(no|required|optional)_argument' |
	    sed -E 's/\{[[:space:]]*"([^"]+)".*/\1/' | sort -u
}

# Letters of every getopt_long option string in $1, one a line.
short_opts() {
	src_text "$1" | grep -oE 'getopt_long\([^,]+, *[^,]+, *"[^"]*"' |
	    sed -E 's/.*"([^"]*)"$/\1/' | tr -d ':+' | fold -w1 | sort -u
}

# bulkhead's verbs: the names main() compares the verb with.
verbs() {
	src_text "$1" | grep -oE 'strcmp\(verb, *"[a-z-]+"\)' | sed -E 's/.*"([^"]+)".*/\1/' | sort -u
}

# The .Fl and .Cm words of the page's list items (.It lines), one a line:
# "--name" for "Fl \-name", "-x" for each letter of "Fl x", "verb" for "Cm".
items() {
	grep -E '^\.It ' "$1" | grep -oE '(Fl|Cm) +[^ ]+' | sed -E '
	    s/^Fl +\\-(.*)/--\1/
	    s/^Fl +([A-Za-z0-9]+)$/-\1/
	    s/^Cm +//' | while read -r w; do
		if [[ $w =~ ^-[A-Za-z]{2,}$ ]]; then	# Fl fv: -f and -v
			fold -w1 <<<"${w#-}" | sed 's/^/-/'
		else
			printf '%s\n' "$w"	# echo would eat "-n" and "-e"
		fi
	    done | sort -u
}

# What of $2's options and verbs has no item in page $1; prints it.
undocumented() {
	local page=$1 src=$2 have o
	have=" $(items "$page" | tr '\n' ' ') "
	for o in $(long_opts "$src"); do
		[[ $have == *" --$o "* ]] || printf ' --%s' "$o"
	done
	for o in $(short_opts "$src"); do
		[[ $have == *" -$o "* ]] || printf ' -%s' "$o"
	done
	for o in $(verbs "$src"); do
		[[ $have == *" $o "* ]] || printf ' verb:%s' "$o"
	done
}

# Every .Fl anywhere in page $1 that $2's tables do not have; prints it.
unknown() {
	local page=$1 src=$2 tok longs shorts
	longs=" $(long_opts "$src" | tr '\n' ' ') "
	shorts=$(short_opts "$src" | tr -d '\n')
	for tok in $(grep -oE 'Fl +[^ ]+' "$page" | sed -E 's/^Fl +//'); do
		case $tok in
		\\-*)	[[ $longs == *" ${tok#\\-} "* ]] || printf ' --%s' "${tok#\\-}";;
		*)	[[ $tok =~ ^[A-Za-z0-9]+$ ]] || continue
			[ -z "$(tr -d "$shorts" <<<"$tok")" ] || printf ' -%s' "$tok";;
		esac
	done
}

if ! command -v mandoc >/dev/null; then
	fail "man: mandoc is not installed (tools/install-deps.sh installs it)"
	echo "# man: $passed passed, $failed failed"
	exit 1
fi

for pair in $PAGES bulkhead-policy.5:; do
	page=$MAN/${pair%%:*}; src=${pair#*:}
	name=$(basename "$page")
	if [ ! -f "$page" ]; then
		fail "man $name: missing"
		continue
	fi
	if out=$(mandoc -T lint -W warning "$page" 2>&1) && [ -z "$out" ]; then
		pass "man $name: mandoc -T lint -W warning is silent"
	else
		fail "man $name: mandoc lint: $(head -5 <<<"$out")"
	fi
	# What `man -l` shows, with groff's warnings enabled.
	if out=$(LC_ALL=C.UTF-8 MANWIDTH=80 MANPAGER=cat man --warnings -l "$page" 2>&1 >/dev/null) &&
	    [ -z "$out" ]; then
		pass "man $name: man -l renders it without warnings"
	else
		fail "man $name: man -l: $(head -5 <<<"$out")"
	fi
	sections="NAME DESCRIPTION EXAMPLES SEE_ALSO"
	# bulkhead-capture reads no file of its own: no FILES section there.
	[ "$name" = bulkhead-capture.8 ] || sections="$sections FILES"
	[ -n "$src" ] && sections="$sections EXIT_STATUS"
	nosect=""
	for s in $sections; do
		grep -q "^\.Sh ${s/_/ }\$" "$page" || nosect="$nosect ${s/_/ }"
	done
	if [ -z "$nosect" ]; then
		pass "man $name: has the sections ${sections//_/ }"
	else
		fail "man $name: no section:$nosect"
	fi
	[ -z "$src" ] && continue
	n=$(long_opts "$src" | wc -l)
	if [ "$n" -lt 3 ]; then
		fail "man $name: found only $n long options in $src (parser broken?)"
	elif missing=$(undocumented "$page" "$src") && [ -z "$missing" ]; then
		pass "man $name: an item for each of the $n long options, the short ones and the verbs of $src"
	else
		fail "man $name: undocumented:$missing"
	fi
	if extra=$(unknown "$page" "$src") && [ -z "$extra" ]; then
		pass "man $name: every option it names exists in $src"
	else
		fail "man $name: names options $src does not have:$extra"
	fi
done

# The check must be able to fail: drop --rules from a copy of bulkheadd.8.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed 's/^\.It Fl r Ar dir , Fl \\-rules Ar dir$/.It Fl r Ar dir/' \
    "$MAN/bulkheadd.8" >"$tmp/bulkheadd.8"
if cmp -s "$MAN/bulkheadd.8" "$tmp/bulkheadd.8"; then
	fail "man self-test: could not remove --rules from a copy of bulkheadd.8"
elif missing=$(undocumented "$tmp/bulkheadd.8" src/bulkheadd.c) &&
    [ -z "$missing" ]; then
	fail "man self-test: a page without --rules passed the check"
elif [ "$missing" = " --rules" ]; then
	pass "man self-test: a copy of bulkheadd.8 without --rules fails the check"
else
	fail "man self-test: expected --rules missing, got:$missing"
fi

# bulkhead-policy.5 says namespaceSelector is not enforced while the
# compiler ignores it: the caveat must follow the compiler both ways.
mkdir -p "$tmp/ns"
cat >"$tmp/ns/ns.json" <<'JSON'
[{"apiVersion": "bulkhead/v1", "kind": "Policy", "metadata": {"name": "db"},
  "spec": {"selector": "app == 'db'",
           "ingress": [{"action": "allow", "protocol": "tcp",
                        "source": {"namespaceSelector": "team == 'x'"},
                        "destination": {"ports": [5432]}}]}},
 {"apiVersion": "v1", "kind": "Namespace",
  "metadata": {"name": "shop", "labels": {"team": "x"}}}]
JSON
chmod -R go-w "$tmp/ns"
if ! plan=$(build/bulkhead plan --rules "$tmp/ns" \
    --inventory tests/golden/web-api-db/inventory.json 2>&1) ||
    ! grep -q 'dport.*accept' <<<"$plan"; then
	fail "man bulkhead-policy.5: no plan for the namespaceSelector probe (build first): $(head -2 <<<"$plan")"
else
	grep 'dport.*accept' <<<"$plan" | grep -qv saddr && ignored=1 || ignored=0
	grep -q 'is validated, but ignored when the ruleset is built' \
	    "$MAN/bulkhead-policy.5" && caveat=1 || caveat=0
	if [ $ignored = $caveat ]; then
		pass "man bulkhead-policy.5: its namespaceSelector caveat matches the compiler (ignored=$ignored)"
	elif [ $caveat = 1 ]; then
		fail "man bulkhead-policy.5: the compiler now enforces namespaceSelector: remove the caveat in CAVEATS"
	else
		fail "man bulkhead-policy.5: the compiler ignores namespaceSelector but CAVEATS does not say so"
	fi
fi

echo "# man: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
