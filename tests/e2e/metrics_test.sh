#!/bin/bash
# metrics_test.sh: the Prometheus page, scraped from --metrics-listen and
# read with `bulkhead metrics`: per-rule kernel counters move with real
# allowed and denied connections, the daemon's own figures are there, and
# every line parses as the text format.
. "$(dirname "$0")/lib.sh"
need_root

GROUP=104
PORT=$((19000 + $$ % 1000))
W=$(mktemp -d /tmp/bulkhead-e2e.XXXXXX)
RULES=$W/rules SOCK=$W/control.sock
mkdir -p "$RULES"; chmod 755 "$W" "$RULES"
DPID=
teardown() {
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
chmod 644 "$RULES/10-db.json"
cleanup_containers
"$B/bulkheadd" --flush >/dev/null 2>&1
run_ctr mdb app=db nc -ll -p 5432 -e echo db-ok
run_ctr mapi app=api sleep 1d
run_ctr mweb app=web sleep 1d
DB=$(ctr_ip mdb)
"$B/bulkheadd" --rules "$RULES" --control-socket "$SOCK" --state-dir "$W/state" \
	--metrics-listen "127.0.0.1:$PORT" --foreground --nflog-group $GROUP \
	>>"$W/bulkheadd.log" 2>&1 &
DPID=$!
in_sync() {
	local st
	st=$("$B/bulkhead" -s "$SOCK" -o json status) || return 1
	[ "$(jq '.in_sync and ([.containers[] | select(.labels["bulkhead.test"] == "1") | select(.endpoints[0].veth != "")] | length >= 3)' <<<"$st")" = true ]
}
wait_for 20 in_sync && pass "daemon in sync" || fail "no sync: $(tail -3 "$W/bulkheadd.log")"
for _ in 1 2 3; do tcp_reply mapi "$DB" 5432 >/dev/null; done
tcp_reply mweb "$DB" 5432 >/dev/null

scrape() { curl -sf "http://127.0.0.1:$PORT/metrics"; }
value() { # value PAGE SAMPLE-PREFIX
	awk -v p="$2" 'index($0, p) == 1 { print $NF; exit }' <<<"$1"
}
allow='bulkhead_rule_packets_total{policy="db-ingress",direction="ingress",rule="0",action="allow"}'
deny='bulkhead_rule_packets_total{policy="db-ingress",direction="ingress",rule="default",action="deny"}'
moved() { local p; p=$(scrape) && [ "$(value "$p" "$allow")" -ge 3 ] && [ "$(value "$p" "$deny")" -ge 1 ]; }
wait_for 10 moved && pass "scraped counters moved: allow $(value "$(scrape)" "$allow"), deny $(value "$(scrape)" "$deny")" ||
	fail "counters did not move: $(scrape | grep db-ingress)"
page=$(scrape)
ct=$(curl -s -o /dev/null -w '%{content_type}' "http://127.0.0.1:$PORT/metrics")
[[ $ct == text/plain*version=0.0.4* ]] && pass "content type $ct" || fail "content type '$ct'"
[ "$(value "$page" 'bulkhead_containers{state="managed"}')" -ge 1 ] &&
	pass "managed containers counted" || fail "managed containers: $(grep containers <<<"$page")"
[ "$(value "$page" 'bulkhead_applies_total')" -ge 1 ] && pass "applies counted" || fail "applies"
[ "$(value "$page" 'bulkhead_enforcement_latency_seconds_count')" -ge 1 ] &&
	pass "event-to-enforcement latency observed" || fail "no latency observations"
# The deny's log rule counts what the rate limit let through (a few SYNs:
# all of them, at most what the drop rule counted).
logged='bulkhead_rule_logged_packets_total{policy="db-ingress",direction="ingress",rule="default",action="deny"}'
lv=$(value "$page" "$logged"); dv=$(value "$page" "$deny")
[ "${lv:-0}" -ge 1 ] && [ "$lv" -le "$dv" ] &&
	pass "logged packets of the deny: $lv of $dv dropped" ||
	fail "logged metric: '$lv' of '$dv': $(grep logged <<<"$page" | head -3)"
[ "$(jq --argjson l "${lv:-0}" '[.counters[] | select(.tag == "bh|D|I|*|db-ingress")] |
	length == 1 and .[0].logged >= $l' <<<"$("$B/bulkhead" -s "$SOCK" -o json status)")" = true ] &&
	pass "status -o json: the deny's tag and logged" ||
	fail "status counters: $("$B/bulkhead" -s "$SOCK" -o json status | jq -c .counters)"
grep -q 'bulkhead_rule_packets_total{policy="unverified-source"' <<<"$page" &&
	pass "spoofing drops have their counter" || fail "no unverified-source counter"
bad=$(grep -v '^#' <<<"$page" | grep -Ev '^bulkhead_[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? -?[0-9.e+]+$|^$')
[ -z "$bad" ] && pass "every sample line parses ($(grep -vc '^#' <<<"$page") samples)" ||
	fail "malformed lines: $(head -3 <<<"$bad")"
cli=$("$B/bulkhead" -s "$SOCK" metrics)
grep -qF "$deny" <<<"$cli" && pass "bulkhead metrics prints the same page" || fail "bulkhead metrics: $(head -3 <<<"$cli")"
st=$("$B/bulkhead" -s "$SOCK" -o json status)
[ "$(jq '[.counters[] | select(.policy == "db-ingress" and .rule == "0" and .action == "allow") | .packets] | add' <<<"$st")" -ge 3 ] &&
	pass "status -o json: per-rule counters" || fail "status counters: $(jq -c .counters <<<"$st")"
"$B/bulkhead" -s "$SOCK" status | grep -Eq '^  db-ingress ingress rule default deny: [1-9][0-9]* packets' &&
	pass "status text: per-rule counters" || fail "status text lacks counters"
d=$("$B/bulkhead" -s "$SOCK" plan --diff)
[ "$d" = "plan: no change" ] && pass "plan --diff: the kernel holds the desired ruleset" ||
	fail "plan --diff against the kernel: $(head -5 <<<"$d")"
# plan --rules CANDIDATE --diff: what a reload would change, nothing applied.
mkdir -p "$W/cand"; chmod 755 "$W/cand"
sed "s/app == 'api'/app in {'api', 'web'}/" "$RULES/10-db.json" >"$W/cand/10-db.json"
chmod 644 "$W/cand/10-db.json"
WEB=$(ctr_ip mweb)
d=$("$B/bulkhead" -s "$SOCK" plan --rules "$W/cand" --diff)
# web's address joins db's peer set (merged into a range when adjacent).
grep -qx '@ table inet bulkhead set p0_i0_saddr4' <<<"$d" && grep -q '^+ ' <<<"$d" &&
	grep -q '^plan: .* 0 sets/chains added, 0 removed, 1 changed$' <<<"$d" &&
	pass "plan --diff: only db's peer set changes ($(grep '^[+-] ' <<<"$d" | tr '\n' ' '))" ||
	fail "plan --diff: $(tr '\n' '|' <<<"$d")"
[ -z "$(tcp_reply mweb "$DB" 5432)" ] && pass "plan applied nothing: web -> db still denied" ||
	fail "plan changed the kernel"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/other")
[ "$code" = 404 ] && pass "other paths: 404" || fail "other path: $code"
finish
