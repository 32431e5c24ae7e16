#!/bin/bash
# demo_test.sh: `make demo` (tools/demo.sh) shows what it promises: the
# allowed flows allowed, the blocked ones blocked and named with the
# policy that blocked them, and nothing left behind.
. "$(dirname "$0")/lib.sh"
need_root

out=$("$ROOT/tools/demo.sh" 2>&1); rc=$?
[ $rc -eq 0 ] && pass "demo ran (exit 0)" || fail "demo exit $rc: $(tail -3 <<<"$out")"
expect() { # expect NAME REGEX
	grep -Eq "$2" <<<"$out" && pass "demo: $1" || fail "demo: $1: no line matching /$2/"
}
expect "web -> api allowed" '^  ALLOWED  web +-> api:8080'
expect "api -> db allowed" '^  ALLOWED  api +-> db:5432'
expect "web -> db blocked by web-egress rule 1" '^  BLOCKED  web +-> db:5432 +denied by policy web-egress, egress rule 1'
expect "intruder -> api blocked by api-from-web" '^  BLOCKED  intruder +-> api:8080 +denied by policy api-from-web, ingress rule default'
expect "intruder -> db blocked by db-from-api" '^  BLOCKED  intruder +-> db:5432 +denied by policy db-from-api, ingress rule default'
expect "db -> web blocked by db's empty egress" '^  BLOCKED  db +-> web:80 +denied by policy db-from-api, egress rule default'
[ -z "$(docker ps -aq --filter label=bulkhead.demo=1)" ] && pass "demo containers removed" ||
	fail "demo containers left behind"
docker network inspect bulkhead-demo >/dev/null 2>&1 && fail "demo network left behind" ||
	pass "demo network removed"
nft list table inet bulkhead >/dev/null 2>&1 && fail "bulkhead table left behind" ||
	pass "bulkhead tables removed"
[ $nfail -eq 0 ] || printf '%s\n' "$out"
finish
