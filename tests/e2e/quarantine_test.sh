#!/bin/bash
# quarantine_test.sh: bulkhead quarantine CONTAINER cuts all of a
# container's traffic at once (to and from other containers and the
# host), logged as bh|Q with the reason in status; it survives a daemon
# restart and a container restart (new veth), and release restores
# traffic.  Containers that are not quarantined are untouched.
. "$(dirname "$0")/lib.sh"
need_root

GROUP=103
W=$(mktemp -d /tmp/bulkhead-e2e.XXXXXX)
RULES=$W/rules STATE=$W/state SOCK=$W/control.sock
mkdir -p "$RULES"
chmod 755 "$W" "$RULES"
DPID= CPID=

teardown() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	[ -n "$CPID" ] && kill "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
	"$B/bulkheadd" --flush >/dev/null 2>&1
	cleanup_containers
	rm -rf "$W"
}
trap teardown EXIT

start_daemon() {
	"$B/bulkheadd" --rules "$RULES" --control-socket "$SOCK" --state-dir "$STATE" \
		--foreground --nflog-group $GROUP -v >>"$W/bulkheadd.log" 2>&1 &
	DPID=$!
}
bh() { "$B/bulkhead" -s "$SOCK" "$@"; }
in_sync() { # in_sync N
	local st
	st=$(bh -o json status) || return 1
	[ "$(jq '.in_sync' <<<"$st")" = true ] &&
	[ "$(jq '[.containers[] | select(.labels["bulkhead.test"] == "1") | select(.endpoints[0].veth != "")] | length' <<<"$st")" -ge "$1" ]
}
veth_of() { bh -o json status | jq -r --arg n "$1" '.containers[] | select(.name == $n) | .endpoints[0].veth'; }
open_() { [ "$(tcp_reply "$1" "$2" 80)" = "$3" ]; }
host_ping() { busybox ping -c 1 -W 1 "$1" >/dev/null 2>&1; }

cleanup_containers
"$B/bulkheadd" --flush >/dev/null 2>&1
# An open policy for b: quarantine must win over an allow.
cat >"$RULES/10-b.json" <<'JSON'
{"apiVersion": "bulkhead/v1", "kind": "Policy", "metadata": {"name": "b-open"},
 "spec": {"selector": "app == 'b'", "ingress": [{"action": "allow"}],
          "egress": [{"action": "allow"}]}}
JSON
chmod 644 "$RULES/10-b.json"
run_ctr qa app=a nc -ll -p 80 -e echo a-ok
run_ctr qb app=b nc -ll -p 80 -e echo b-ok
run_ctr qc app=c nc -ll -p 80 -e echo c-ok
A=$(ctr_ip qa); BB=$(ctr_ip qb); C=$(ctr_ip qc)
"$B/bulkhead-capture" -g $GROUP >"$W/capture.txt" 2>"$W/capture.err" &
CPID=$!
start_daemon
wait_for 20 in_sync 3 && pass "daemon in sync with 3 containers" ||
	fail "no sync: $(tail -3 "$W/bulkheadd.log")"
open_ qb "$A" a-ok && pass "before: b -> a open" || fail "before: b -> a closed"
open_ qa "$BB" b-ok && pass "before: a -> b open" || fail "before: a -> b closed"
host_ping "$A" && pass "before: host -> a ping" || fail "before: host -> a ping fails"

out=$(bh quarantine qa --reason "incident 42" 2>&1); rc=$?
[ $rc -eq 0 ] && pass "quarantine qa: exit 0 ($out)" || fail "quarantine qa: exit $rc: $out"
open_ qb "$A" a-ok && fail "quarantined: b -> a still open" || pass "quarantined: b -> a cut"
open_ qa "$BB" b-ok && fail "quarantined: a -> b still open (b's policy allows)" ||
	pass "quarantined: a -> b cut although b's policy allows it"
open_ qa "$C" c-ok && fail "quarantined: a -> c still open" || pass "quarantined: a -> c cut"
host_ping "$A" && fail "quarantined: host -> a ping passes" || pass "quarantined: host -> a cut"
open_ qb "$C" c-ok && pass "others untouched: b -> c open" || fail "others: b -> c closed"
st=$(bh -o json status)
[ "$(jq -r '.quarantined[0].reason' <<<"$st")" = "incident 42" ] &&
	pass "status lists the quarantine with its reason" || fail "status: $(jq -c .quarantined <<<"$st")"
bh status | grep -q 'QUARANTINED: incident 42' && pass "status text shows QUARANTINED" ||
	fail "status text lacks QUARANTINED"
one=$(bh status qa)
grep -q '^  qa (' <<<"$one" && ! grep -q '^  qb (' <<<"$one" &&
	pass "status qa lists qa alone" || fail "status qa: $(grep '^  q' <<<"$one")"
bh status no-such-container >/dev/null 2>&1; rc=$?
[ $rc -eq 1 ] && pass "status of an unknown container: exit 1" || fail "status unknown: exit $rc"
jq -e --arg id "$(docker inspect -f '{{.Id}}' qa)" '.containers[] | select(.id == $id)' \
	"$STATE/quarantine.json" >/dev/null && pass "state file holds qa" || fail "state file lacks qa"
wait_for 5 grep -q 'quarantine' "$W/capture.txt" &&
	pass "capture shows the quarantine drops ($(grep -m1 quarantine "$W/capture.txt"))" ||
	fail "capture shows no quarantine drop: $(head -3 "$W/capture.txt")"
v=$(veth_of qa); set=$(nft list set bridge bulkhead quarantine 2>&1)
grep -q "\"$v\"" <<<"$set" && pass "qa's veth is in the bridge quarantine set" ||
	fail "qa's veth $v not in the quarantine set: $(tr -s '\n\t' '  ' <<<"$set")"

# Daemon restart: the quarantine is in the first ruleset.
kill "$DPID"; wait "$DPID" 2>/dev/null; DPID=
open_ qb "$A" a-ok && fail "daemon down: b -> a open" || pass "daemon down: a still cut"
start_daemon
wait_for 20 in_sync 3 && pass "restarted daemon in sync" || fail "restart: no sync"
open_ qb "$A" a-ok && fail "after daemon restart: b -> a open" || pass "after daemon restart: a still cut"

# Container restart: new veth, same id.
old=$(veth_of qa)
docker restart -t 0 qa >/dev/null
A=$(ctr_ip qa)
wait_for 20 sh -c "[ \"\$($B/bulkhead -s $SOCK -o json status | jq -r '.containers[] | select(.name == \"qa\") | .endpoints[0].veth')\" != \"$old\" ]" &&
	wait_for 10 in_sync 3 && pass "qa restarted on a new veth ($old -> $(veth_of qa))" ||
	fail "qa's new veth not picked up"
open_ qb "$A" a-ok && fail "after container restart: b -> a open" ||
	pass "after container restart: a still cut"

out=$(bh release qa 2>&1); rc=$?
[ $rc -eq 0 ] && pass "release qa: exit 0" || fail "release qa: exit $rc: $out"
wait_for 5 open_ qb "$A" a-ok && pass "released: b -> a open" || fail "released: b -> a still cut"
open_ qa "$BB" b-ok && pass "released: a -> b open" || fail "released: a -> b cut"
[ "$(jq '.containers | length' "$STATE/quarantine.json")" = 0 ] &&
	pass "state file emptied" || fail "state file still lists: $(cat "$STATE/quarantine.json")"
bh release qa >/dev/null 2>&1; rc=$?
[ $rc -eq 1 ] && pass "release of a free container: exit 1" || fail "release again: exit $rc"
out=$(bh quarantine no-such-container 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q 'no such container' <<<"$out" &&
	pass "quarantine of an unknown container refused ($out)" || fail "unknown container: exit $rc: $out"
patches_agree "$W/bulkheadd.log"
finish
