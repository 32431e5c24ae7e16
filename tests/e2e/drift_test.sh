#!/bin/bash
# drift_test.sh: another tool changes bulkhead's tables, bulkheadd puts
# them back as soon as the kernel tells it.  The daemon runs with
# --unowned-tables, as on kernels before 6.9 (Debian 12's own 6.1), where
# any root process can change the tables: `nft delete table`, `nft flush
# chain`, an accept rule inserted ahead of ours, `nft flush ruleset`
# (what restarting nftables.service does).  Each must be undone (the
# nftables notification names the change), within a second, and a
# denied flow stays denied afterwards.  The daemon's own changes (a new
# container's patch) are not drift.
. "$(dirname "$0")/lib.sh"
need_root

GROUP=131
W=$(mktemp -d /tmp/bulkhead-drift.XXXXXX)
RULES=$W/rules
SOCK=$W/control.sock
mkdir -p "$RULES"
chmod 755 "$W" "$RULES"
DPID=
IPT_SAVED=

teardown() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	"$B/bulkheadd" --flush >/dev/null 2>&1
	# Docker's own rules, if the flush of the whole ruleset took them.
	if [ -n "$IPT_SAVED" ] && ! iptables -S DOCKER >/dev/null 2>&1; then
		iptables-restore <"$W/iptables.save"
	fi
	cleanup_containers
	rm -rf "$W"
}
trap teardown EXIT

cat >"$RULES/10-db.json" <<'JSON'
[{"apiVersion": "bulkhead/v1", "kind": "Policy",
  "metadata": {"name": "db-ingress"},
  "spec": {"selector": "app == 'db'",
           "ingress": [{"action": "allow", "protocol": "tcp",
                        "source": {"selector": "app == 'api'"},
                        "destination": {"ports": [5432]}}]}}]
JSON
chmod 644 "$RULES/10-db.json"

status() { "$B/bulkhead" -s "$SOCK" -o json status; }
in_sync() { status | jq -e ".in_sync and ([.containers[] | select(.endpoints[0].veth != \"\")] | length >= $1)" >/dev/null; }
repairs() { status | jq '.drift_repairs'; }
ours() { nft list table inet bulkhead >/dev/null 2>&1 && nft list table bridge bulkhead >/dev/null 2>&1; }
fwd_rules() { nft -j list chain inet bulkhead forward 2>/dev/null | jq '[.nftables[] | select(.rule)] | length'; }

cleanup_containers
"$B/bulkheadd" --flush >/dev/null 2>&1
run_ctr db app=db nc -ll -p 5432 -e echo db-ok
run_ctr api app=api sleep 1d
run_ctr web app=web sleep 1d
DB=$(ctr_ip db)

"$B/bulkheadd" --unowned-tables --rules "$RULES" --control-socket "$SOCK" \
	--foreground --nflog-group $GROUP -v >>"$W/bulkheadd.log" 2>&1 &
DPID=$!
if wait_for 20 in_sync 3; then pass "daemon knows db, api, web and is in sync"
else fail "daemon did not reach sync: $(tail -5 "$W/bulkheadd.log")"; finish; exit 1; fi
NFWD=$(fwd_rules)
denied_ok() { # denied_ok WHEN: web -> db denied, api -> db allowed
	[ -z "$(tcp_reply web "$DB" 5432)" ] && pass "$1: web -> db:5432 denied" ||
		fail "$1: web -> db:5432 passed"
	[ "$(tcp_reply api "$DB" 5432)" = db-ok ] && pass "$1: api -> db:5432 allowed" ||
		fail "$1: api -> db:5432 blocked"
}
denied_ok "before"

# restored DESC CHECK...: CHECK holds again within a second of the change,
# the daemon's log names the change from the notification, one repair more.
restored() {
	local desc=$1 t0 t1 n0=$2; shift 2
	t0=$(date +%s%N)
	until "$@"; do
		if [ $(( ($(date +%s%N) - t0) / 1000000 )) -gt 1000 ]; then
			fail "$desc: not restored within a second"
			return 1
		fi
		sleep 0.005
	done
	t1=$(date +%s%N)
	pass "$desc: restored in $(( (t1 - t0) / 1000000 )) ms"
	wait_for 2 sh -c "[ \"\$(\"$B/bulkhead\" -s \"$SOCK\" -o json status | jq .drift_repairs)\" -gt $n0 ]" &&
		pass "$desc: counted as a drift repair" || fail "$desc: drift_repairs still $n0"
}
same_fwd() { [ "$(fwd_rules)" = "$NFWD" ]; }
no_accept_first() { ! nft -a list chain inet bulkhead forward | sed -n 3p | grep -q "^\s*accept"; }

n=$(repairs); nft delete table inet bulkhead && restored "nft delete table inet bulkhead" "$n" ours
grep -q "drift: inet bulkhead: table deleted by another process" "$W/bulkheadd.log" &&
	pass "the notification named the deleted table" ||
	fail "no notification line: $(grep drift "$W/bulkheadd.log" | tail -2)"
denied_ok "after the table was deleted"

# The periodic check sees only missing tables: these it could not see.
n=$(repairs); nft flush chain inet bulkhead forward && restored "nft flush chain inet bulkhead forward" "$n" same_fwd
denied_ok "after the forward chain was flushed"
n=$(repairs); nft insert rule inet bulkhead forward accept && restored "an accept inserted ahead of our rules" "$n" no_accept_first
same_fwd && pass "forward chain has its $NFWD rules, no more" || fail "forward chain has $(fwd_rules) rules, $NFWD expected"
denied_ok "after an accept was inserted"
# The flush takes Docker's iptables-nft tables too: not ours to repair,
# put back for the tests that follow (as fault_test.sh does).
iptables-save >"$W/iptables.save" && IPT_SAVED=1
nft list tables | sort >"$W/tables.before"
n=$(repairs); nft flush ruleset && restored "nft flush ruleset" "$n" ours
iptables -S DOCKER >/dev/null 2>&1 || iptables-restore <"$W/iptables.save"
nft list tables | sort >"$W/tables.after"
diff -q "$W/tables.before" "$W/tables.after" >/dev/null && pass "Docker's tables restored after the flush (iptables-restore)" ||
	fail "tables differ after the flush: $(diff "$W/tables.before" "$W/tables.after" | tr '\n' ' ')"
denied_ok "after nft flush ruleset"

# Our own changes are not drift.
n=$(repairs)
run_ctr db2 app=db nc -ll -p 5432 -e echo db2-ok
wait_for 10 in_sync 4 || fail "daemon did not learn db2"
sleep 0.5
[ "$(repairs)" = "$n" ] && pass "a new container's patch is not counted as drift" ||
	fail "drift repairs went from $n to $(repairs) on our own change"
[ -z "$(tcp_reply web "$(ctr_ip db2)" 5432)" ] && pass "new container: web -> db2 denied" ||
	fail "new container: web -> db2 passed"
kill -0 "$DPID" && pass "daemon alive" || fail "daemon died"
patches_agree "$W/bulkheadd.log"
finish
