#!/bin/bash
# capture_enrich_test.sh: bulkhead-capture names the containers, with a
# real bulkheadd and real containers.  A denied web -> db connection is
# printed with both names, the policy and db's compose project, service
# and labels (text and JSON, every JSON line parsed by jq); --from/--to
# by name and by label selector keep only their flows, live and on a
# saved file; --flows counts; a container newer than the capture's last
# refresh is named at its first packet; a container removed right after
# sending is still named; a flow from the host is "host".  The capture runs as nobody: its status
# helper keeps the access to the root-only control socket.
. "$(dirname "$0")/lib.sh"
need_root

GROUP=102
CAP=$B/bulkhead-capture
W=$(mktemp -d /tmp/bulkhead-enrich.XXXXXX)
RULES=$W/rules
SOCK=$W/control.sock
mkdir -p "$RULES"
chmod 755 "$W" "$RULES"
DPID=
CPIDS=

teardown() {
	local p
	for p in $CPIDS; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	"$B/bulkheadd" --flush >/dev/null 2>&1
	cleanup_containers
	rm -rf "$W"
}
trap teardown EXIT

for tool in jq nc; do
	command -v $tool >/dev/null || { fail "$tool is not installed"; finish; exit 1; }
done

cat >"$RULES/10-db.json" <<'JSON'
{"apiVersion": "bulkhead/v1", "kind": "Policy",
 "metadata": {"name": "db-ingress"},
 "spec": {"selector": "app == 'db'",
          "ingress": [{"action": "allow", "protocol": "tcp",
                       "source": {"selector": "app == 'api'"},
                       "destination": {"ports": [5432]}}]}}
JSON
chmod 644 "$RULES/10-db.json"

in_sync() { # in_sync N: the daemon knows N test containers with their veths
	local st
	st=$("$B/bulkhead" -s "$SOCK" -o json status) || return 1
	[ "$(jq '.in_sync' <<<"$st")" = true ] &&
	[ "$(jq '[.containers[] | select(.labels["bulkhead.test"] == "1") | select(.endpoints[0].veth != "")] | length' <<<"$st")" -eq "$1" ]
}
bound() { awk -v g=$GROUP '$1 == g { f = 1 } END { exit !f }' /proc/net/netfilter/nfnetlink_log; }

# start_capture OUT ARGS...: a live capture in the background.
start_capture() {
	local out=$1; shift
	"$CAP" -g $GROUP -s "$SOCK" "$@" >"$out" 2>"$out.err" &
	CPIDS="$CPIDS $!"
	LAST=$!
}

cleanup_containers
"$B/bulkheadd" --flush >/dev/null 2>&1
docker rm -f db >/dev/null 2>&1
docker run -d --name db --label "$TLABEL" --label app=db \
	--label com.docker.compose.project=shop \
	--label com.docker.compose.service=database \
	"$IMAGE" nc -ll -p 5432 -e echo db-ok >/dev/null
run_ctr web app=web sleep 1d
run_ctr api app=api sleep 1d
DB=$(ctr_ip db); WEB=$(ctr_ip web); API=$(ctr_ip api)

"$B/bulkheadd" --rules "$RULES" --control-socket "$SOCK" --foreground \
	--nflog-group $GROUP -v >>"$W/bulkheadd.log" 2>&1 &
DPID=$!
if wait_for 20 in_sync 3; then pass "daemon knows db, web, api"
else fail "daemon did not reach sync: $(tail -5 "$W/bulkheadd.log")"; finish; exit 1; fi

# One process at a time can listen on an NFLOG group: the captures run
# one after the other.
J=$W/all.json
start_capture "$J" -o json -w "$W/all.pcap"; JPID=$LAST
wait_for 5 bound || fail "capture did not bind group $GROUP: $(cat "$J.err")"
[ -z "$(tcp_reply web "$DB" 5432)" ] && pass "denied: web -> db:5432" ||
	fail "web -> db:5432 passed"
[ -z "$(tcp_reply api "$DB" 6000)" ] && pass "denied: api -> db:6000" ||
	fail "api -> db:6000 passed"
[ "$(tcp_reply api "$DB" 5432)" = db-ok ] && pass "allowed: api -> db:5432" ||
	fail "api -> db:5432 blocked"
# From the host (docker0's address) to db: "host".
nc -w 1 "$DB" 7777 </dev/null >/dev/null 2>&1

has() { jq -e -s "$2" "$1" >/dev/null 2>&1; }
wait_for 5 has "$J" 'any(.[]; .src_name == "web" and .dst_name == "db")'
wait_for 5 has "$J" 'any(.[]; .src_kind == "host")'
stop_captures() { local p; for p in $CPIDS; do kill -INT "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; CPIDS=; }
stop_captures

check "every JSON line parses with jq" jq -e . "$J"
if has "$J" 'any(.[]; .verdict == "denied" and .src_name == "web" and
	.dst_name == "db" and .dport == 5432 and .policy == "db-ingress" and
	.rule == -1 and .direction == "ingress" and .src_kind == "container" and
	.dst_kind == "container" and .dst_namespace == "shop" and
	.dst_service == "database" and .dst_labels.app == "db" and
	.src_labels.app == "web" and (.src_id | length) == 64 and
	.src_namespace == null)'; then
	pass "JSON: web -> db:5432 denied by db-ingress, both named, db's project/service/labels"
else
	fail "JSON lacks the named web -> db event: $(head -3 "$J") $(cat "$J.err")"
fi
has "$J" 'any(.[]; .src_name == "api" and .dst_name == "db" and .dport == 6000)' &&
	pass "JSON: api -> db:6000 named" || fail "JSON: api -> db:6000 not named"
has "$J" 'any(.[]; .src_kind == "host" and .src_name == "host" and .dst_name == "db" and .dport == 7777)' &&
	pass "JSON: a flow from the host is named host" ||
	fail "JSON: no host flow: $(jq -c 'select(.dport == 7777)' "$J")"
[ "$(grep -c "no container names" "$J.err")" -eq 0 ] && pass "no warning with bulkheadd up" ||
	fail "warning with bulkheadd up: $(cat "$J.err")"
grep -q "records read" "$J.err" && pass "capture as nobody ran and printed its stats" ||
	fail "capture stats missing: $(cat "$J.err")"

# ---- live text with --from web --to a selector: only web's flows to db.
T=$W/from.txt
start_capture "$T" --from web --to "app == 'db'"
wait_for 5 bound || fail "capture did not bind group $GROUP: $(cat "$T.err")"
tcp_reply web "$DB" 5432 >/dev/null
tcp_reply api "$DB" 6000 >/dev/null
tcp_reply web "$API" 6001 >/dev/null	# not denied: api has no policy
nc -w 1 "$DB" 7778 </dev/null >/dev/null 2>&1
wait_for 5 grep -q "web:" "$T"
sleep 0.5
stop_captures
grep -Eq "^[0-9:.]+ denied web:[0-9]+ → db:5432 tcp db-ingress/default ingress \[S\] in veth" "$T" &&
	pass "text: denied web:PORT → db:5432 tcp db-ingress/default ingress [S] in veth..." ||
	fail "text line: $(head -3 "$T") $(cat "$T.err")"
[ "$(grep -c . "$T")" -ge 1 ] && [ "$(grep -vc "web:[0-9]* → db:5432" "$T")" -eq 0 ] &&
	pass "live --from web --to \"app == 'db'\": only web -> db ($(wc -l <"$T") lines)" ||
	fail "--from web --to db: $(cat "$T")"

# ---- the saved file, read back with the daemon's names and filters
n=$("$CAP" -r "$W/all.pcap" -s "$SOCK" --from "app in {'api'}" 2>/dev/null | grep -c "api:[0-9]* → db:6000")
all=$("$CAP" -r "$W/all.pcap" -s "$SOCK" --from "app in {'api'}" 2>/dev/null | wc -l)
[ "$n" -ge 1 ] && [ "$n" -eq "$all" ] && pass "-r -s --from \"app in {'api'}\": $n lines, all api -> db:6000" ||
	fail "-r --from selector: $n of $all"
[ "$("$CAP" -r "$W/all.pcap" -s "$SOCK" --to web 2>/dev/null | wc -l)" -eq 0 ] &&
	pass "-r --to web: nothing (web received no denied packet)" || fail "-r --to web matched"
[ "$("$CAP" -r "$W/all.pcap" -s "$SOCK" --from host --to db --port 7777 2>/dev/null | grep -c "host/")" -ge 1 ] &&
	pass "-r --from host: the host's flow" || fail "-r --from host matched nothing"

# ---- --flows: the saved file in one table, then live windows of 1 s
F=$W/flows.json
"$CAP" -r "$W/all.pcap" -s "$SOCK" --flows -o json >"$F" 2>/dev/null
npk=$(jq -s 'map(select(.event == "packet")) | length' "$J")
[ "$(jq -s 'map(.count) | add' "$F")" = "$npk" ] && [ "$npk" -gt 0 ] &&
	pass "--flows on the file: counts add up to the $npk events" ||
	fail "--flows counts: $(jq -s 'map(.count) | add' "$F") for $npk events"
has "$F" 'any(.[]; .event == "flow" and .src_name == "web" and .dst_name == "db" and .dport == 5432 and .policy == "db-ingress" and .count >= 1 and .first <= .last)' &&
	pass "--flows: web -> db:5432 by db-ingress with count, first, last" ||
	fail "--flows: $(head -3 "$F")"
L=$W/live-flows.txt
start_capture "$L" --flows=1 --from web
wait_for 5 bound || fail "capture did not bind group $GROUP: $(cat "$L.err")"
# Two connections at once (two source ports): one flow.
tcp_reply web "$DB" 5432 >/dev/null &
tcp_reply web "$DB" 5432 >/dev/null
wait $!
if wait_for 5 grep -Eq "^[0-9]+ denied web → db:5432 tcp db-ingress/default ingress first" "$L"; then
	pass "live --flows=1 prints windows while running: $(head -1 "$L")"
else
	fail "live --flows: $(cat "$L" "$L.err")"
fi
stop_captures
[ "$(awk '$3 == "web" && $5 == "db:5432" && $1 > n { n = $1 } END { print n + 0 }' "$L")" -ge 2 ] &&
	pass "live --flows: two connections from new source ports counted in one line" ||
	fail "live --flows counts: $(cat "$L")"

# ---- a container started after the capture's last refresh is named at
# its first packet: an unknown address makes the capture ask again.
N=$W/late.json
start_capture "$N" -o json --refresh 3600
wait_for 5 bound || fail "capture did not bind group $GROUP: $(cat "$N.err")"
sleep 0.6	# past the rate limit of the on-unknown query
run_ctr late app=web sleep 1d
LATE=$(ctr_ip late)
wait_for 20 in_sync 4 || fail "daemon did not learn late"
tcp_reply late "$DB" 5432 >/dev/null
wait_for 5 has "$N" "any(.[]; .src == \"$LATE\")"
stop_captures
has "$N" "any(.[]; .src == \"$LATE\" and .src_name == \"late\" and .dst_name == \"db\")" &&
	pass "a container newer than the last refresh is named at its first packet" ||
	fail "late not named: $(jq -c "select(.src == \"$LATE\") | [.src_name, .dst_name]" "$N" | head -2)"
docker rm -f late >/dev/null
wait_for 10 in_sync 3 || fail "daemon still lists late"

# ---- a container removed right after sending is still named.  The
# capture is stopped while the container sends and is removed, so that
# the daemon no longer lists it when the capture reads the event.
G=$W/ghost.json
start_capture "$G" -o json
wait_for 5 bound || fail "capture did not bind group $GROUP: $(cat "$G.err")"
run_ctr ghost app=web sleep 1d
GHOST=$(ctr_ip ghost)
wait_for 20 in_sync 4 || fail "daemon did not learn ghost"
sleep 2.5	# the capture's periodic refresh (2 s) learns ghost
kill -STOP $LAST
docker exec ghost nc -w 1 "$DB" 5432 </dev/null >/dev/null 2>&1
docker rm -f ghost >/dev/null
wait_for 10 in_sync 3 || fail "daemon still lists ghost"
"$B/bulkhead" -s "$SOCK" -o json status | jq -e '[.containers[].name] | index("ghost") == null' >/dev/null &&
	pass "ghost is gone from the daemon's status" || fail "ghost still in status"
kill -CONT $LAST
wait_for 5 has "$G" "any(.[]; .src == \"$GHOST\" and .dport == 5432)"
stop_captures
has "$G" "any(.[]; .src == \"$GHOST\" and .src_name == \"ghost\" and .dst_name == \"db\" and .policy == \"db-ingress\")" &&
	pass "a container removed right after sending is still named (ghost)" ||
	fail "ghost not named: $(jq -c "select(.src == \"$GHOST\") | [.src_name, .dst_name]" "$G" | head -3) $(cat "$G.err")"

finish
