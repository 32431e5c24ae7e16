#!/bin/bash
# slice_test.sh: the first end-to-end slice on a real Docker engine.
# Containers with labels, bulkheadd on a rules directory, real TCP
# connections: an allowed flow passes, a denied one is dropped and shows
# in bulkhead-capture, replies of allowed flows pass, an unselected
# container is untouched, a container started later is enforced, reload
# applies new rules, a broken file is refused and the last good rules stay,
# SIGTERM leaves the host protected, --flush removes our tables.
. "$(dirname "$0")/lib.sh"
need_root

GROUP=101
# BULKHEADD: the daemon binary under test (asan_daemon_test.sh passes a
# sanitized one); BULKHEADD_ARGS: options added to its command line.
BULKHEADD=${BULKHEADD:-$B/bulkheadd}
W=$(mktemp -d /tmp/bulkhead-e2e.XXXXXX)
RULES=$W/rules
SOCK=$W/control.sock
mkdir -p "$RULES"
chmod 755 "$W" "$RULES"
DPID=
CPID=

teardown() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	[ -n "$CPID" ] && kill "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
	"$B/bulkheadd" --flush >/dev/null 2>&1
	cleanup_containers
	rm -rf "$W"
}
trap teardown EXIT

write_policy() { # write_policy FILE SOURCE-SELECTOR
	cat >"$RULES/$1" <<JSON
[
 {"apiVersion": "bulkhead/v1", "kind": "Policy",
  "metadata": {"name": "db-ingress"},
  "spec": {"selector": "app == 'db'",
           "ingress": [{"action": "allow", "protocol": "tcp",
                        "source": {"selector": "$2"},
                        "destination": {"ports": [5432]}}]}},
 {"apiVersion": "bulkhead/v1", "kind": "Policy",
  "metadata": {"name": "db-no-egress"},
  "spec": {"selector": "app == 'db'", "types": ["egress"], "egress": []}}
]
JSON
	chmod 644 "$RULES/$1"
}

start_daemon() {
	"$BULKHEADD" $BULKHEADD_ARGS --rules "$RULES" --control-socket "$SOCK" --foreground \
		--nflog-group $GROUP -v >>"$W/bulkheadd.log" 2>&1 &
	DPID=$!
}

in_sync() { # in_sync N: the daemon knows N test containers and the kernel is in sync
	local st
	st=$("$B/bulkhead" -s "$SOCK" -o json status) || return 1
	[ "$(jq '.in_sync' <<<"$st")" = true ] &&
	[ "$(jq '[.containers[] | select(.labels["bulkhead.test"] == "1") | select(.endpoints[0].veth != "")] | length' <<<"$st")" -ge "$1" ]
}

cleanup_containers
"$B/bulkheadd" --flush >/dev/null 2>&1
write_policy 10-db.json "app == 'api'"

run_ctr db app=db nc -ll -p 5432 -e echo db-ok
run_ctr api app=api nc -ll -p 8080 -e echo api-ok
run_ctr web app=web sleep 1d
run_ctr free app=free nc -ll -p 7000 -e echo free-ok
DB=$(ctr_ip db); API=$(ctr_ip api); WEB=$(ctr_ip web); FREE=$(ctr_ip free)

"$B/bulkhead-capture" -n -g $GROUP >"$W/capture.txt" 2>"$W/capture.err" &
CPID=$!
start_daemon
if wait_for 20 in_sync 4; then pass "daemon knows 4 containers and is in sync"
else fail "daemon did not reach sync (log: $(tail -5 "$W/bulkheadd.log"))"; fi

check "table inet bulkhead is in the kernel" nft list table inet bulkhead
check "table bridge bulkhead is in the kernel" nft list table bridge bulkhead
[ "$(tcp_reply api "$DB" 5432)" = db-ok ] && pass "allowed: api -> db:5432" ||
	fail "allowed: api -> db:5432 did not pass"
[ -z "$(tcp_reply web "$DB" 5432)" ] && pass "denied: web -> db:5432" ||
	fail "denied: web -> db:5432 passed"
[ -z "$(tcp_reply db "$API" 8080)" ] && pass "denied: db -> api:8080 (db has no egress)" ||
	fail "denied: db -> api:8080 passed"
[ "$(tcp_reply web "$FREE" 7000)" = free-ok ] && pass "untouched: web -> free:7000 (no policy selects free)" ||
	fail "untouched: web -> free:7000 blocked"
[ "$(tcp_reply web "$API" 8080)" = api-ok ] && pass "untouched: web -> api:8080" ||
	fail "untouched: web -> api:8080 blocked"

# The reply of api -> db passed although db may not open connections:
# the db-ok answer above is that reply.  Check the log of the denial.
if wait_for 5 grep -q "$WEB.*$DB:5432.*db-ingress" "$W/capture.txt"; then
	pass "capture shows web -> db:5432 denied by db-ingress"
else
	fail "capture lacks the denied flow: $(head -5 "$W/capture.txt") $(cat "$W/capture.err")"
fi
grep -q "$DB.*$API:8080.*db-no-egress" "$W/capture.txt" &&
	pass "capture shows db -> api:8080 denied by db-no-egress" ||
	fail "capture lacks db -> api:8080"

# A container started while the daemon runs is enforced.
run_ctr db2 app=db nc -ll -p 5432 -e echo db2-ok
DB2=$(ctr_ip db2)
wait_for 10 in_sync 5 || fail "daemon did not learn db2"
[ "$(tcp_reply api "$DB2" 5432)" = db2-ok ] && pass "new container: api -> db2:5432 allowed" ||
	fail "new container: api -> db2:5432 blocked"
[ -z "$(tcp_reply web "$DB2" 5432)" ] && pass "new container: web -> db2:5432 denied" ||
	fail "new container: web -> db2:5432 passed"

# Containers that cannot be segmented are reported with the reason.
docker run -d --name hostnet --label "$TLABEL" --network host "$IMAGE" sleep 1d >/dev/null
docker run -d --name nonet --label "$TLABEL" --network none "$IMAGE" sleep 1d >/dev/null
docker run -d --name sidecar --label "$TLABEL" --network container:db "$IMAGE" sleep 1d >/dev/null
reason() { "$B/bulkhead" -s "$SOCK" -o json status | jq -r ".containers[] | select(.name == \"$1\") | .reason"; }
wait_for 10 sh -c "\"$B/bulkhead\" -s \"$SOCK\" -o json status | jq -e '.containers[] | select(.name == \"sidecar\")'" ||
	fail "daemon did not learn the unsegmentable containers"
reason hostnet | grep -q "host's network namespace" && pass "status: --network host reported as not segmentable" ||
	fail "status: hostnet reason '$(reason hostnet)'"
reason nonet | grep -q "no network" && pass "status: --network none reported" ||
	fail "status: nonet reason '$(reason nonet)'"
reason sidecar | grep -q "shares the network namespace of db" && pass "status: shared namespace names its owner" ||
	fail "status: sidecar reason '$(reason sidecar)'"
"$B/bulkhead" -s "$SOCK" status | grep -q "NOT SEGMENTED" && pass "status text shows unsegmented containers" ||
	fail "status text lacks NOT SEGMENTED"
docker_rm hostnet nonet sidecar

# Drift: another tool tries to delete our table.  bulkheadd's socket owns
# it (Linux >= 6.9), so the kernel refuses; on an older kernel it would go
# and drift repair would restore it within a second.
if nft delete table inet bulkhead 2>"$W/nft.err"; then
	fail "drift: another process deleted table inet bulkhead (not owned)"
	wait_for 5 nft list table inet bulkhead || fail "drift: table not restored"
else
	grep -q "Operation not permitted" "$W/nft.err" &&
		pass "drift: deleting our table from another process refused (owned by bulkheadd)" ||
		fail "drift: delete failed for another reason: $(head -1 "$W/nft.err")"
fi
[ -z "$(tcp_reply web "$DB" 5432)" ] && pass "drift: web -> db:5432 still denied" ||
	fail "drift: web -> db:5432 passes"

# Spoofing: a packet from web claiming api's address must not reach db.
# (busybox has no raw sender; the guard's set content is checked instead.)
nft list set bridge bulkhead port_ip4 | grep -q "$WEB" &&
	pass "port guard holds web's veth . mac . address" ||
	fail "port guard lacks web's address"

# Reload with new rules: web may now reach db.
write_policy 10-db.json "app in {'api', 'web'}"
if "$B/bulkhead" -s "$SOCK" reload >"$W/reload.out" 2>&1; then pass "reload accepted"
else fail "reload refused: $(cat "$W/reload.out")"; fi
[ "$(tcp_reply web "$DB" 5432)" = db-ok ] && pass "after reload: web -> db:5432 allowed" ||
	fail "after reload: web -> db:5432 still blocked"

# A broken file is refused with its location; the last good rules stay.
printf '{"apiVersion": "bulkhead/v1", "kind": "Policy",\n "metadata": {"name": "bad"},\n "spec": {"selector": "app ==", "ingress": []}}\n' >"$RULES/20-bad.json"
chmod 644 "$RULES/20-bad.json"
if "$B/bulkhead" -s "$SOCK" reload >"$W/reload.out" 2>&1; then
	fail "reload of a broken file was accepted"
else
	grep -q "20-bad.json:3:" "$W/reload.out" && pass "broken reload refused with file:line ($(head -1 "$W/reload.out"))" ||
		fail "broken reload message lacks the location: $(cat "$W/reload.out")"
fi
[ "$(tcp_reply web "$DB" 5432)" = db-ok ] && pass "after refused reload: last good rules stay (web -> db allowed)" ||
	fail "after refused reload: rules changed"
rm -f "$RULES/20-bad.json"
write_policy 10-db.json "app == 'api'"
kill -HUP "$DPID"
wait_for 5 sh -c "[ -z \"\$(docker exec web nc -w 1 $DB 5432 </dev/null 2>/dev/null)\" ]" &&
	pass "SIGHUP reload: web -> db:5432 denied again" || fail "SIGHUP reload did not apply"

# SIGTERM: the daemon exits, the rules stay.
kill -TERM "$DPID"; wait "$DPID"; rc=$?; DPID=
[ $rc -eq 0 ] && pass "SIGTERM: clean exit" || fail "SIGTERM: exit status $rc"
[ -z "$(tcp_reply web "$DB" 5432)" ] && pass "daemon down: web -> db:5432 still denied" ||
	fail "daemon down: host unprotected"

# A container started while the daemon is down is held back (fail closed):
# its addresses are unknown, so nothing reaches it and it reaches nothing.
run_ctr late app=free nc -ll -p 7001 -e echo late-ok
LATE=$(ctr_ip late)
[ -z "$(tcp_reply web "$LATE" 7001)" ] && pass "daemon down: unclassified container held back" ||
	fail "daemon down: unclassified container reachable"
grep -q "unclassified-container" "$W/capture.txt" &&
	pass "capture shows the unclassified container's packets" ||
	fail "capture lacks the unclassified container"

# Restart: the daemon picks up the running containers again.
start_daemon
wait_for 20 in_sync 6 && pass "restart: daemon back in sync" || fail "restart: no sync"
[ "$(tcp_reply web "$LATE" 7001)" = late-ok ] && pass "restart: late container classified and reachable" ||
	fail "restart: late container still held back"
[ "$(tcp_reply api "$DB" 5432)" = db-ok ] && pass "restart: api -> db still allowed" ||
	fail "restart: api -> db blocked"
kill -TERM "$DPID"; wait "$DPID"; DPID=

# After the first apply, changes reach the kernel as deltas (ir_diff.c),
# and the kernel refused none of them (no fallback to a full replace).
grep -q "delta: " "$W/bulkheadd.log" && pass "changes applied as deltas" ||
	fail "no delta in the daemon's log"
if grep -q "incremental apply failed" "$W/bulkheadd.log"; then
	fail "a delta was refused: $(grep -m1 "incremental apply failed" "$W/bulkheadd.log")"
else pass "no delta refused by the kernel"; fi

check "--flush removes bulkhead's tables" "$B/bulkheadd" --flush
nft list table inet bulkhead >/dev/null 2>&1 && fail "table inet bulkhead still there" ||
	pass "table inet bulkhead gone"
[ "$(tcp_reply web "$DB" 5432)" = db-ok ] && pass "after flush: web -> db:5432 open" ||
	fail "after flush: web -> db still blocked"

patches_agree "$W/bulkheadd.log"
finish
