#!/bin/bash
# install_test.sh: `make install` and `make uninstall` into a DESTDIR, no
# root.  Checks the exact list of files, their modes, that the paths in the
# unit and the pages follow PREFIX, that an operator's rules directory is
# never touched, that the unit passes `systemd-analyze verify`, and that
# uninstall leaves nothing behind.
# Prints PASS/FAIL lines and "# install: N passed, M failed"; exits 1 on failure.
cd "$(dirname "$0")/../.." || exit 1
passed=0; failed=0
pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The tree's own build (make check built it): install must not rebuild.
MAKE="make -s --no-print-directory"

# The files install must write under PREFIX $1, one a line, sorted.
expected() {
	local p=${1#/} f
	for f in bulkheadd bulkhead bulkhead-capture; do echo "$p/sbin/$f"; done
	for f in bulkheadd bulkhead bulkhead-capture; do echo "$p/share/man/man8/$f.8"; done
	echo "$p/share/man/man5/bulkhead-policy.5"
	echo "$p/lib/systemd/system/bulkheadd.service"
	for f in rules/*.json rules/README.md; do echo "$p/share/bulkhead/rules/${f#rules/}"; done
}

# The files and empty directories under $1, relative, sorted.
listing() {
	(cd "$1" && { find . -type f; find . -type d -empty; } | sed 's|^\./||' | sort)
}

# ---- default PREFIX ----
d=$tmp/default
if out=$($MAKE install DESTDIR="$d" 2>&1); then
	pass "install: make install DESTDIR=... succeeds without root"
else
	fail "install: make install failed: $(tail -3 <<<"$out")"
fi
want=$( { expected /usr/local; echo etc/bulkhead/rules; } | sort)
if diff=$(diff <(echo "$want") <(listing "$d")); then
	pass "install: exactly the $(wc -l <<<"$want") expected files (and an empty /etc/bulkhead/rules)"
else
	fail "install: unexpected file list: $(tr '\n' ' ' <<<"$diff")"
fi
bad=""
for f in $(expected /usr/local); do
	mode=$(stat -c %a "$d/$f" 2>/dev/null)
	case $f in */sbin/*) [ "$mode" = 755 ] || bad="$bad $f:$mode";;
	*) [ "$mode" = 644 ] || bad="$bad $f:$mode";; esac
done
[ -z "$bad" ] && pass "install: binaries 0755, other files 0644" ||
    fail "install: wrong modes:$bad"
if v=$("$d/usr/local/sbin/bulkheadd" --version) && [ "$v" = "bulkheadd $(sed -n 's/^VERSION[[:space:]]*=[[:space:]]*//p' Makefile)" ]; then
	pass "install: the installed bulkheadd runs ($v)"
else
	fail "install: the installed bulkheadd --version printed '$v'"
fi
# The shipped examples are valid as installed (modes included).
if out=$("$d/usr/local/sbin/bulkhead" check "$d/usr/local/share/bulkhead/rules" 2>&1); then
	pass "install: bulkhead check accepts the installed example rules: $out"
else
	fail "install: bulkhead check refuses the installed examples: $out"
fi

# ---- the unit ----
unit=$d/usr/local/lib/systemd/system/bulkheadd.service
if grep -qx 'ExecStart=/usr/local/sbin/bulkheadd --foreground --rules /etc/bulkhead/rules' "$unit"; then
	pass "unit: ExecStart runs /usr/local/sbin/bulkheadd in the foreground"
else
	fail "unit: ExecStart is $(grep ExecStart= "$unit")"
fi
if command -v systemd-analyze >/dev/null; then
	# verify needs the commands to exist: point it at the DESTDIR copies.
	sed "s|/usr/local/sbin|$d/usr/local/sbin|g" "$unit" >"$tmp/bulkheadd.service"
	if out=$(systemd-analyze verify --man=no "$tmp/bulkheadd.service" 2>&1) &&
	    [ -z "$out" ]; then
		pass "unit: systemd-analyze verify reports nothing"
	else
		fail "unit: systemd-analyze verify: $(head -3 <<<"$out")"
	fi
	exposure=$(systemd-analyze security --offline=yes "$tmp/bulkheadd.service" 2>&1 |
	    sed -n 's/.*Overall exposure level for bulkheadd.service: \([0-9.]*\).*/\1/p')
	if [ -n "$exposure" ] && awk "BEGIN { exit !($exposure <= 2.0) }"; then
		pass "unit: systemd-analyze security exposure $exposure (at most 2.0)"
	else
		fail "unit: systemd-analyze security exposure '$exposure' (want at most 2.0)"
	fi
else
	fail "unit: systemd-analyze is not installed (tools/install-deps.sh installs systemd)"
fi

# ---- another PREFIX: paths in the unit and pages follow it ----
d2=$tmp/opt
if $MAKE install DESTDIR="$d2" PREFIX=/opt/bh >/dev/null 2>&1 &&
    diff -q <( { expected /opt/bh; echo etc/bulkhead/rules; } | sort) <(listing "$d2") >/dev/null &&
    grep -q '^ExecStart=/opt/bh/sbin/bulkheadd ' "$d2/opt/bh/lib/systemd/system/bulkheadd.service" &&
    grep -q '^ExecReload=/opt/bh/sbin/bulkhead reload' "$d2/opt/bh/lib/systemd/system/bulkheadd.service" &&
    grep -q '/opt/bh/share/bulkhead/rules' "$d2/opt/bh/share/man/man5/bulkhead-policy.5" &&
    ! grep -rq /usr/local "$d2"; then
	pass "install: PREFIX=/opt/bh puts every file there and the unit and pages name /opt/bh"
else
	fail "install: PREFIX=/opt/bh: wrong files or paths"
fi

# ---- an operator's rules directory is never touched ----
d3=$tmp/existing
mkdir -p "$d3/etc/bulkhead/rules"
echo '[]' >"$d3/etc/bulkhead/rules/mine.json"
if $MAKE install DESTDIR="$d3" >/dev/null 2>&1 &&
    [ "$(ls "$d3/etc/bulkhead/rules")" = mine.json ] &&
    [ "$(cat "$d3/etc/bulkhead/rules/mine.json")" = '[]' ]; then
	pass "install: an existing /etc/bulkhead/rules keeps its files and gets no example"
else
	fail "install: the existing rules directory was changed: $(ls "$d3/etc/bulkhead/rules")"
fi

# ---- uninstall ----
if $MAKE uninstall DESTDIR="$d" >/dev/null 2>&1 && [ -z "$(find "$d" -type f)" ] &&
    [ ! -e "$d/usr/local/share/bulkhead" ] && [ ! -e "$d/etc/bulkhead" ]; then
	pass "uninstall: removes every installed file and the empty directories"
else
	fail "uninstall: left $(find "$d" -type f -o -name bulkhead | tr '\n' ' ')"
fi
if $MAKE uninstall DESTDIR="$d3" >/dev/null 2>&1 && [ -f "$d3/etc/bulkhead/rules/mine.json" ] &&
    [ -z "$(find "$d3" -type f ! -name mine.json)" ]; then
	pass "uninstall: keeps the operator's rules"
else
	fail "uninstall: the operator's rules are gone or files are left"
fi

echo "# install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
