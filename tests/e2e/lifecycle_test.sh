#!/bin/bash
# lifecycle_test.sh: Docker lifecycle events other than start and stop.
#   pause/unpause: a paused container stays in the inventory and in the
#     kernel (its elements do not change); while it is paused a denied
#     flow to it is still dropped (no TCP handshake) and an allowed one
#     still reaches its kernel (handshake completes); unpaused, the
#     allowed flow is answered again and the denied one still is not.
#   rename: the container keeps its id, labels and policies; status and
#     bulkhead-capture show the new name; its flows are judged as before.
#   restart: the container comes back on a new veth, which is enforced;
#     the old veth is gone from the kernel.
# Run as root holding the lock: flock /tmp/bulkhead-e2e.lock bash tests/e2e/lifecycle_test.sh
. "$(dirname "$0")/lib.sh"
need_root

GROUP=106
W=$(mktemp -d /tmp/bulkhead-lifecycle.XXXXXX)
RULES=$W/rules
SOCK=$W/control.sock
mkdir -p "$RULES"
chmod 755 "$W" "$RULES"
DPID=
CPID=

teardown() {
	docker unpause db >/dev/null 2>&1
	[ -n "$CPID" ] && kill "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	"$B/bulkheadd" --flush >/dev/null 2>&1
	cleanup_containers
	rm -rf "$W"
}
trap teardown EXIT

for tool in jq nft; do
	command -v $tool >/dev/null || { fail "$tool is not installed"; finish; exit 1; }
done

cat >"$RULES/10-db.json" <<'JSON'
[
 {"apiVersion": "bulkhead/v1", "kind": "Policy",
  "metadata": {"name": "db-ingress"},
  "spec": {"selector": "app == 'db'",
           "ingress": [{"action": "allow", "protocol": "tcp",
                        "source": {"selector": "app == 'api'"},
                        "destination": {"ports": [5432]}}]}},
 {"apiVersion": "bulkhead/v1", "kind": "Policy",
  "metadata": {"name": "web-egress"},
  "spec": {"selector": "app == 'web'", "types": ["egress"],
           "egress": [{"action": "allow", "protocol": "tcp",
                       "destination": {"selector": "app == 'api'"}}]}}
]
JSON
chmod 644 "$RULES/10-db.json"

status() { "$B/bulkhead" -s "$SOCK" -o json status 2>/dev/null; }
ctr() { status | jq -c ".containers[] | select(.name == \"$1\")"; }
veth() { ctr "$1" | jq -r '.endpoints[0].veth'; }
in_sync() { # in_sync N: N test containers on a veth, kernel in sync
	local st; st=$(status) || return 1
	[ "$(jq '.in_sync' <<<"$st")" = true ] &&
	[ "$(jq '[.containers[] | select(.labels["bulkhead.test"] == "1") | select(.endpoints[0].veth != "")] | length' <<<"$st")" -eq "$1" ]
}
# db's share of the kernel: its port guard and its ingress verdict.
db_elems() {
	local v=$1 ip=$2
	{ kernel_elems bridge port_ip4 | grep -F "$v . "
	  kernel_elems inet addrs4 | grep -Fx "$ip"
	  kernel_elems inet in4 | grep -F "$ip : "; }
}
# handshake FROM IP PORT: the TCP handshake completes (the server's
# process may be frozen: nc then waits for data and is cut at 3 s).
handshake() {
	local rc
	docker exec "$1" timeout 3 nc -w 2 "$2" "$3" </dev/null >/dev/null 2>&1; rc=$?
	[ $rc -ne 0 ] && [ $rc -ne 1 ]	# 1: connect failed or timed out
}

cleanup_containers
"$B/bulkheadd" --flush >/dev/null 2>&1
run_ctr db app=db nc -ll -p 5432 -e echo db-ok
run_ctr api app=api nc -ll -p 8080 -e echo api-ok
run_ctr web app=web sleep 1d
DB=$(ctr_ip db); API=$(ctr_ip api)

"$B/bulkhead-capture" -g $GROUP -s "$SOCK" --refresh 1 -o json \
	>"$W/capture.json" 2>"$W/capture.err" &
CPID=$!
"$B/bulkheadd" --rules "$RULES" --control-socket "$SOCK" --foreground \
	--nflog-group $GROUP -v >>"$W/bulkheadd.log" 2>&1 &
DPID=$!
if wait_for 20 in_sync 3; then pass "daemon knows db, api, web and is in sync"
else fail "daemon did not reach sync: $(tail -5 "$W/bulkheadd.log")"; finish; exit 1; fi
[ "$(tcp_reply api "$DB" 5432)" = db-ok ] && pass "before: api -> db:5432 allowed" ||
	fail "before: api -> db:5432 blocked"
[ -z "$(tcp_reply web "$DB" 5432)" ] && pass "before: web -> db:5432 denied" ||
	fail "before: web -> db:5432 passed"

# ---- pause / unpause ----
DBV=$(veth db)
db_elems "$DBV" "$DB" >"$W/db.before"
docker pause db >/dev/null
sleep 1	# the pause event has been handled
[ "$(docker inspect -f '{{.State.Paused}}' db)" = true ] || fail "pause: docker did not pause db"
if in_sync 3 && [ "$(veth db)" = "$DBV" ]; then pass "paused: db still in the inventory on $DBV, in sync"
else fail "paused: status $(ctr db | head -c 300)"; fi
db_elems "$DBV" "$DB" >"$W/db.paused"
[ "$(grep -c . "$W/db.before")" -eq 3 ] && cmp -s "$W/db.before" "$W/db.paused" &&
	pass "paused: db's port guard, address and ingress verdict unchanged in the kernel" ||
	fail "paused: db's kernel elements changed: $(diff "$W/db.before" "$W/db.paused" | tr '\n' ' ')"
handshake web "$DB" 5432 && fail "paused: web -> db:5432 completed a handshake (denied flow passed)" ||
	pass "paused: web -> db:5432 still denied (no handshake)"
handshake api "$DB" 5432 && pass "paused: api -> db:5432 still reaches db's kernel (handshake)" ||
	fail "paused: api -> db:5432 blocked while db is paused"
docker unpause db >/dev/null
sleep 1
[ "$(tcp_reply api "$DB" 5432)" = db-ok ] && pass "unpaused: api -> db:5432 answered again" ||
	fail "unpaused: api -> db:5432 blocked"
[ -z "$(tcp_reply web "$DB" 5432)" ] && pass "unpaused: web -> db:5432 still denied" ||
	fail "unpaused: web -> db:5432 passed"
db_elems "$DBV" "$DB" >"$W/db.unpaused"
cmp -s "$W/db.before" "$W/db.unpaused" && pass "unpaused: db's kernel elements unchanged" ||
	fail "unpaused: db's kernel elements changed"

# ---- rename ----
WEBID=$(docker inspect -f '{{.Id}}' web)
policies_before=$(ctr api | jq -c '[.ingress, .egress]')
docker rename web web2
docker rename api api2
if wait_for 5 sh -c "\"$B/bulkhead\" -s \"$SOCK\" -o json status | jq -e '.containers[] | select(.name == \"web2\")'"; then
	pass "rename: status shows web2"
else
	fail "rename: status names $(status | jq -c '[.containers[].name]')"
fi
[ "$(ctr web2 | jq -r .id)" = "$WEBID" ] && [ -z "$(ctr web)" ] &&
	pass "rename: web2 has web's id; no container named web is left" ||
	fail "rename: web2 $(ctr web2 | jq -r .id) web '$(ctr web | head -c 80)'"
[ "$(ctr web2 | jq -c '.egress')" = '["web-egress"]' ] &&
	pass "rename: web2 keeps its egress policy (web-egress)" ||
	fail "rename: web2's policies $(ctr web2 | jq -c '[.ingress, .egress]')"
[ "$(ctr api2 | jq -c '[.ingress, .egress]')" = "$policies_before" ] &&
	pass "rename: api2's policies unchanged" || fail "rename: api2 policies changed"
"$B/bulkhead" -s "$SOCK" status | grep -qw web2 && pass "rename: status text shows web2" ||
	fail "rename: status text lacks web2"
"$B/bulkhead" -s "$SOCK" status web2 >/dev/null 2>&1 && pass "rename: status web2 finds it by its new name" ||
	fail "rename: status web2 exits non-zero"
"$B/bulkhead" -s "$SOCK" status web >/dev/null 2>&1 && fail "rename: status web still finds the old name" ||
	pass "rename: status web no longer finds the old name"
[ "$(tcp_reply api2 "$DB" 5432)" = db-ok ] && pass "rename: api2 -> db:5432 allowed (labels unchanged)" ||
	fail "rename: api2 -> db:5432 blocked"
[ "$(tcp_reply web2 "$API" 8080)" = api-ok ] && pass "rename: web2 -> api2:8080 allowed" ||
	fail "rename: web2 -> api2:8080 blocked"
sleep 1.5	# past the capture's refresh period
[ -z "$(tcp_reply web2 "$DB" 5432)" ] && pass "rename: web2 -> db:5432 denied" ||
	fail "rename: web2 -> db:5432 passed"
has() { jq -e -s "$1" "$W/capture.json" >/dev/null 2>&1; }
if wait_for 5 has "any(.[]; .src_name == \"web2\" and .dst_name == \"db\" and .dport == 5432 and .policy == \"web-egress\")"; then
	pass "rename: bulkhead-capture names the denied flow's source web2 (denied by web-egress)"
else
	fail "rename: capture shows $(jq -c "select(.dport == 5432) | [.src_name, .dst_name, .policy]" "$W/capture.json" 2>/dev/null | tail -2 | tr '\n' ' ')"
fi

# ---- restart: a new veth ----
l0=$(wc -l <"$W/bulkheadd.log")
docker restart -t 1 db >/dev/null
DB=$(ctr_ip db)
new_veth() { v=$(veth db); [ -n "$v" ] && [ "$v" != null ] && [ "$v" != "$DBV" ] && in_sync 3; }
if wait_for 10 new_veth; then pass "restart: db on a new veth ($DBV -> $(veth db)), in sync"
else fail "restart: db's veth $(veth db) (was $DBV)"; fi
NEWV=$(veth db)
kernel_keys bridge ports | grep -Fxq "$NEWV" && ! kernel_keys bridge ports | grep -Fxq "$DBV" &&
	pass "restart: the kernel guards $NEWV, not $DBV any more" ||
	fail "restart: kernel ports $(kernel_keys bridge ports | tr '\n' ' ')"
kernel_elems bridge port_ip4 | grep -Fq "$NEWV . $(docker inspect -f '{{range .NetworkSettings.Networks}}{{.MacAddress}}{{end}}' db) . $DB" &&
	pass "restart: port guard holds $NEWV . mac . $DB" || fail "restart: port guard lacks the new veth"
[ "$(tcp_reply api2 "$DB" 5432)" = db-ok ] && pass "restart: api2 -> db:5432 allowed on the new veth" ||
	fail "restart: api2 -> db:5432 blocked"
[ -z "$(tcp_reply web2 "$DB" 5432)" ] && pass "restart: web2 -> db:5432 denied on the new veth" ||
	fail "restart: web2 -> db:5432 passed"
tail -n +$((l0 + 1)) "$W/bulkheadd.log" | grep -q "replacing the ruleset whole\|incremental apply failed" &&
	fail "restart: applied by a full replace, not a delta" || pass "restart: applied as deltas"
kill -0 "$DPID" && pass "daemon alive" || fail "daemon died"
patches_agree "$W/bulkheadd.log"
finish
