#!/bin/bash
# hostile_client_test.sh: clients of the control socket cannot stall
# enforcement.  While clients dribble a request one byte a second (a new
# connection for each one dropped), others hold every free connection
# without a word, and one asks for a large answer (~1 MB) and reads it
# only 5 s later, a container started meanwhile is enforced as fast as
# with no client (the kernel's port guard holds its address, an allowed
# flow passes, a denied one does not).  Connections beyond the limit (64)
# are refused with a message; dribblers are dropped at their 2 s
# deadline; the late reader gets its whole answer; afterwards the socket
# serves normally again.
. "$(dirname "$0")/lib.sh"
need_root

GROUP=106
BULKHEADD=${BULKHEADD:-$B/bulkheadd}	# the daemon under test
LIMIT=64	# CONTROL_MAX_CONNS
W=$(mktemp -d /tmp/bulkhead-e2e.XXXXXX)
RULES=$W/rules SOCK=$W/control.sock
mkdir -p "$RULES"; chmod 755 "$W" "$RULES"
DPID= HPID=

teardown() {
	[ -n "$HPID" ] && kill "$HPID" 2>/dev/null && wait "$HPID" 2>/dev/null
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	"$B/bulkheadd" --flush >/dev/null 2>&1
	cleanup_containers
	rm -rf "$W"
}
trap teardown EXIT


cat >"$RULES/10-db.json" <<'JSON'
{"apiVersion": "bulkhead/v1", "kind": "Policy", "metadata": {"name": "db-ingress"},
 "spec": {"selector": "app == 'db'",
          "ingress": [{"action": "allow", "protocol": "tcp",
                       "source": {"selector": "app == 'api'"},
                       "destination": {"ports": [5432]}}]}}
JSON
# Many policies, so that the plan answer is large (~0.5 MB, more than a
# socket buffer holds).
for i in $(seq 1 1000); do
	printf '{"apiVersion": "bulkhead/v1", "kind": "Policy", "metadata": {"name": "filler-%d"},\n "spec": {"selector": "app == '"'"'web'"'"'", "ingress": [{"action": "allow", "protocol": "tcp", "source": {"nets": ["10.%d.%d.0/24"]}, "destination": {"ports": [%d, %d, %d]}}]}}\n' \
		"$i" $((i / 250)) $((i % 250)) $((1000 + i)) $((3000 + i)) $((5000 + i)) >"$RULES/20-filler-$i.json"
done
chmod 644 "$RULES"/*.json
bh() { "$B/bulkhead" -s "$SOCK" "$@"; }
in_sync() { # in_sync N
	local st
	st=$(bh -o json status) || return 1
	[ "$(jq '.in_sync' <<<"$st")" = true ] &&
	[ "$(jq '[.containers[] | select(.labels["bulkhead.test"] == "1") | select(.endpoints[0].veth != "")] | length' <<<"$st")" -ge "$1" ]
}
guarded() { nft list set bridge bulkhead port_ip4 2>/dev/null | grep -qw "$1"; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
# enforce_ms NAME: starts a db container and prints the ms from `docker
# run` returning (the container is running, Docker has sent its event)
# until the kernel's port guard holds its address.
enforce_ms() {
	local t0 ip
	run_ctr "$1" app=db nc -ll -p 5432 -e echo "$1-ok"
	t0=$(ms)
	ip=$(ctr_ip "$1")
	until guarded "$ip"; do
		[ $(( $(ms) - t0 )) -gt 20000 ] && { echo 99999; return; }
		sleep 0.02
	done
	echo $(( $(ms) - t0 ))
}
# worst_ms PREFIX N: starts N containers, prints the worst enforce_ms.
worst_ms() {
	local i t w=0
	for i in $(seq 1 "$2"); do
		t=$(enforce_ms "$1$i")
		[ "$t" -gt "$w" ] && w=$t
	done
	echo "$w"
}

cleanup_containers
"$B/bulkheadd" --flush >/dev/null 2>&1
run_ctr hapi app=api sleep 1d
run_ctr hweb app=web sleep 1d
"$BULKHEADD" --rules "$RULES" --control-socket "$SOCK" --foreground \
	--nflog-group $GROUP >>"$W/bulkheadd.log" 2>&1 &
DPID=$!
wait_for 20 in_sync 2 && pass "daemon in sync" || fail "no sync: $(tail -3 "$W/bulkheadd.log")"
size=$(bh plan | wc -c)
[ "$size" -gt 500000 ] && pass "plan answer is $size bytes" || fail "plan answer only $size bytes"

base=$(worst_ms hbase 2)
[ "$base" -lt 20000 ] && pass "no client: new containers guarded within $base ms of docker run" ||
	fail "no client: a container was never guarded"

python3 "$ROOT/tests/e2e/hostile_clients.py" "$SOCK" 20 15 $LIMIT >"$W/hostile.out" 2>&1 &
HPID=$!
sleep 3	# the flood is on: every slot taken, dribblers cycling
# Slots free up as the daemon drops clients and refill within a second.
refused_seen() { bh status 2>&1 | grep -q "too many control connections"; }
wait_for 3 refused_seen && pass "connection beyond $LIMIT refused with a message" ||
	fail "no connection beyond $LIMIT refused"
# A blocking listener would stall each event up to its 2 s read timeout.
during=$(worst_ms hatt 4)
DB2=$(ctr_ip hatt1)
lim=$(( base * 2 > 1000 ? base * 2 : 1000 ))
[ "$during" -le "$lim" ] &&
	pass "under attack: 4 new containers guarded within $during ms (no client: $base ms, limit $lim)" ||
	fail "under attack: a new container guarded only after $during ms (no client: $base ms, limit $lim)"
[ "$(tcp_reply hapi "$DB2" 5432)" = hatt1-ok ] && pass "under attack: api -> new db allowed" ||
	fail "under attack: api -> new db blocked"
[ -z "$(tcp_reply hweb "$DB2" 5432)" ] && pass "under attack: web -> new db denied" ||
	fail "under attack: web -> new db passed"
kill -0 "$HPID" 2>/dev/null && pass "the flood was still on when the checks ended" ||
	fail "the hostile clients ended early: $(cat "$W/hostile.out")"
wait "$HPID"; HPID=
read -r _ dropped _ refused _ bytes _ ok <"$W/hostile.out"
[ "${dropped:-0}" -ge 40 ] && pass "dribblers dropped at their deadline: $dropped" ||
	fail "dribblers dropped: '$dropped' ($(cat "$W/hostile.out"))"
[ "${refused:-0}" -ge 1 ] && pass "clients beyond the limit refused: $refused" ||
	fail "no refusal seen by the hostile clients"
[ "$ok" = True ] && [ "${bytes:-0}" -ge "$size" ] &&
	pass "a large answer left unread for 5 s delivered whole ($bytes bytes)" ||
	fail "large answer: $bytes bytes, ok $ok"
grep -q "client(s) dropped: request not complete within 2000 ms" "$W/bulkheadd.log" &&
	pass "the log counts dropped clients" || fail "no drop in the log"
wait_for 5 bh status && pass "after the flood: control socket serves again" ||
	fail "after the flood: status fails"
kill -0 "$DPID" && pass "daemon alive" || fail "daemon died"
finish
