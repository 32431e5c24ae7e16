#!/bin/bash
# hardening_test.sh: bulkheadd's privilege drop and its control socket's
# defences, without Docker and without touching the host: the test runs
# in a private network namespace with a stub engine (stub_engine.py) and
# stub containers (a netns each, a veth on a bridge), so it needs no lock.
#  - the running daemon and each of its threads hold CAP_NET_ADMIN alone
#    (effective, permitted, bounding), nothing inheritable or ambient,
#    no_new_privs, a seccomp filter (Seccomp 2);
#  - under the filter, a whole cycle: containers classified, a new one
#    guarded, reload, SIGHUP, quarantine (state file) and release, status,
#    plan --diff, metrics over HTTP (a port below 1024: bound before the
#    drop), a container removed, the engine gone and back (reconnection),
#    SIGTERM; the kernel logs no seccomp violation of its pid;
#  - while hostile control clients dribble requests and hold every
#    connection slot, a new container is guarded as fast as without them
#    (a blocking listener would stall each event up to 2 s);
#  - --no-seccomp: no filter, capabilities dropped all the same; detached
#    (daemon(3), syslog) it works under the filter.
. "$(dirname "$0")/lib.sh"
need_root
if [ -z "$HARDENING_NETNS" ]; then
	HARDENING_NETNS=1 exec unshare -n "$0" "$@"
fi

KEEP=0000000000001000	# 1 << CAP_NET_ADMIN (12)
BULKHEADD=${BULKHEADD:-$B/bulkheadd}	# the daemon under test
W=$(mktemp -d /tmp/bulkhead-hard.XXXXXX)
RULES=$W/rules STATE=$W/state SOCK=$W/control.sock ENGINE=$W/docker.sock
mkdir -p "$RULES"; chmod 755 "$W" "$RULES"
DPID= EPID= BPID= NS=() N=0

teardown() {
	local ns
	for p in $DPID $BPID $EPID; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	for ns in "${NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
	[ -n "$KEEP_W" ] || rm -rf "$W"
}
trap teardown EXIT

field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
violations() { dmesg 2>/dev/null | grep 'type=1326' | grep -c " pid=$1 "; }
bh() { "$B/bulkhead" -s "$SOCK" "$@"; }
engine_start() {
	rm -f "$ENGINE"
	python3 "$ROOT/tests/e2e/stub_engine.py" "$ENGINE" 2>>"$W/engine.log" &
	EPID=$!
	wait_for 5 test -S "$ENGINE"
}
stub() {
	curl -sf --unix-socket "$ENGINE" -d "$2" "http://stub/stub/$1" >/dev/null ||
		fail "stub engine refused $1 $2"
}
ctr_id() { printf 'b%063d' "$1"; }
# add_ctr NAME LABELS-JSON: a netns with a veth on brstub0, announced to the engine.
add_ctr() {
	local ns=bhstub-$$-$1 mac
	N=$((N + 1))
	ip netns add "$ns" && NS+=("$ns")
	ip link add "vs$N" type veth peer name eth0 netns "$ns"
	ip link set "vs$N" master brstub0 up
	ip -n "$ns" addr add "10.99.0.$((N + 10))/24" dev eth0
	ip -n "$ns" link set eth0 up
	mac=$(ip -n "$ns" -o link show eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
	stub add "{\"id\":\"$(ctr_id $N)\",\"name\":\"$1\",\"labels\":$2,\"ip\":\"10.99.0.$((N + 10))\",\"mac\":\"$mac\",\"sandbox\":\"/run/netns/$ns\"}"
}
guarded() { nft list set bridge bulkhead port_ip4 2>/dev/null | grep -qw "$1"; }
known() { # known N: N containers on a veth, kernel in sync
	local st
	st=$(bh -o json status 2>/dev/null) || return 1
	[ "$(jq '.in_sync and ([.containers[] | select(.endpoints[0].veth != "")] | length) == '"$1" <<<"$st")" = true ]
}
ms() { echo $(( $(date +%s%N) / 1000000 )); }
# guard NAME LABELS: adds a container; GUARD_MS is the time until its
# address is guarded (99999: never).  Not in a subshell: add_ctr counts.
guard() {
	local t0
	t0=$(ms)
	add_ctr "$1" "$2"
	if wait_for 10 guarded "10.99.0.$((N + 10))"; then
		GUARD_MS=$(( $(ms) - t0 ))
	else
		GUARD_MS=99999
	fi
}

cat >"$RULES/10-db.json" <<'JSON'
{"apiVersion": "bulkhead/v1", "kind": "Policy", "metadata": {"name": "db-ingress"},
 "spec": {"selector": "app == 'db'",
          "ingress": [{"action": "allow", "protocol": "tcp",
                       "source": {"selector": "app == 'api'"},
                       "destination": {"ports": [5432]}}]}}
JSON
chmod 644 "$RULES/10-db.json"
ip link set lo up
ip link add brstub0 type bridge
ip addr add 10.99.0.1/24 dev brstub0
ip link set brstub0 up
engine_start || fail "stub engine did not start: $(cat "$W/engine.log")"
add_ctr db '{"app":"db"}'
add_ctr api '{"app":"api"}'
"$BULKHEADD" --rules "$RULES" --control-socket "$SOCK" --state-dir "$STATE" \
	--docker-socket "$ENGINE" --metrics-listen 127.0.0.1:99 --foreground -v \
	>>"$W/bulkheadd.log" 2>&1 &
DPID=$!
wait_for 10 known 2 && pass "daemon in sync with 2 stub containers" ||
	fail "no sync: $(tail -3 "$W/bulkheadd.log")"
dmesg >/dev/null 2>&1 || fail "cannot read the kernel log (dmesg): seccomp violations would go unseen"

# ---- what it holds ----
for f in CapEff CapPrm CapBnd; do
	[ "$(field "$DPID" $f)" = "$KEEP" ] && pass "$f: CAP_NET_ADMIN alone" ||
		fail "$f is $(field "$DPID" $f), want $KEEP"
done
[ "$(field "$DPID" CapInh)$(field "$DPID" CapAmb)" = 00000000000000000000000000000000 ] &&
	pass "CapInh and CapAmb empty" || fail "CapInh $(field "$DPID" CapInh) CapAmb $(field "$DPID" CapAmb)"
[ "$(field "$DPID" NoNewPrivs)" = 1 ] && pass "NoNewPrivs 1" || fail "NoNewPrivs $(field "$DPID" NoNewPrivs)"
[ "$(field "$DPID" Seccomp)" = 2 ] && pass "Seccomp 2" || fail "Seccomp $(field "$DPID" Seccomp)"
bad= nthreads=0
for t in /proc/"$DPID"/task/*; do
	nthreads=$((nthreads + 1))
	s=$(awk '$1 ~ /^(CapEff|CapPrm|CapBnd|Seccomp):$/ { printf "%s%s ", $1, $2 }' "$t/status")
	[ "$s" = "CapPrm:$KEEP CapEff:$KEEP CapBnd:$KEEP Seccomp:2 " ] || bad="$bad ${t##*/}:$s"
done
[ "$nthreads" -ge 2 ] && [ -z "$bad" ] && pass "all $nthreads threads (the metrics listener's too) alike" ||
	fail "threads: $nthreads, differing:$bad"

# ---- a cycle under the filter ----
guard db2 '{"app":"db"}'
[ "$GUARD_MS" -lt 10000 ] && pass "a new container guarded after $GUARD_MS ms" ||
	fail "new container never guarded"
bh reload >"$W/out" 2>&1 && pass "reload" || fail "reload: $(cat "$W/out")"
kill -HUP "$DPID"
wait_for 5 grep -q "generation 3" "$W/bulkheadd.log" && pass "SIGHUP reload" || fail "SIGHUP reload"
bh quarantine api --reason hardening >"$W/out" 2>&1 && grep -q hardening "$STATE/quarantine.json" &&
	pass "quarantine: state file written" || fail "quarantine: $(cat "$W/out")"
bh release api >/dev/null 2>&1 && ! grep -q hardening "$STATE/quarantine.json" &&
	pass "release: state file rewritten" || fail "release"
bh status | grep -q "^  db2 " && pass "status" || fail "status"
[ "$(bh plan --diff)" = "plan: no change" ] && pass "plan --diff: kernel in sync" || fail "plan --diff"
curl -sf http://127.0.0.1:99/metrics | grep -q '^bulkhead_applies_total [1-9]' &&
	pass "metrics over HTTP on port 99 (bound before the drop)" || fail "metrics over HTTP"
stub del "{\"id\":\"$(ctr_id 1)\"}"
wait_for 5 known 2 && ! bh status | grep -q "^  db " && pass "a container removed" || fail "db not removed"
kill "$EPID"; wait "$EPID" 2>/dev/null; EPID=
wait_for 5 sh -c "\"$B/bulkhead\" -s \"$SOCK\" -o json status | jq -e '.docker_connected == false'" &&
	pass "engine gone: noticed" || fail "engine gone: not noticed"
engine_start
add_ctr back '{"app":"api"}'
wait_for 15 sh -c "\"$B/bulkhead\" -s \"$SOCK\" status | grep -q '^  back '" &&
	pass "engine back: reconnected and resynchronised" || fail "engine back: $(tail -2 "$W/bulkheadd.log")"

# ---- hostile control clients ----
base=0
for i in 1 2; do
	guard quiet$i '{"app":"db"}'
	[ "$GUARD_MS" -gt "$base" ] && base=$GUARD_MS
done
python3 "$ROOT/tests/e2e/hostile_clients.py" "$SOCK" 20 12 64 >"$W/hostile.out" 2>&1 &
HPID=$!
sleep 3
# Slots free up as the daemon drops clients and refill within a second.
refused_seen() { bh status 2>&1 | grep -q "too many control connections"; }
wait_for 3 refused_seen && pass "client beyond 64 refused with a message" ||
	fail "client beyond 64 never refused"
worst=0
for i in 1 2 3 4; do
	guard loud$i '{"app":"db"}'
	[ "$GUARD_MS" -gt "$worst" ] && worst=$GUARD_MS
	sleep 0.4
done
lim=$(( base * 2 > 500 ? base * 2 : 500 ))
[ "$worst" -le "$lim" ] && pass "under attack: 4 new containers guarded within $worst ms (quiet: $base ms, limit $lim)" ||
	fail "under attack: a container guarded after $worst ms (quiet: $base ms, limit $lim)"
page=$(curl -sf http://127.0.0.1:99/metrics)
r=$(awk '$1 == "bulkhead_control_refused_total" { print $2 }' <<<"$page")
d=$(awk '$1 == "bulkhead_control_dropped_total" { print $2 }' <<<"$page")
[ "${r:-0}" -ge 1 ] && [ "${d:-0}" -ge 1 ] &&
	pass "metrics over HTTP during the attack: $r refused, $d dropped" ||
	fail "metrics during the attack: refused '$r' dropped '$d'"
kill -0 "$HPID" 2>/dev/null && pass "the attack was on throughout" || fail "attack ended early: $(cat "$W/hostile.out")"
wait "$HPID"
read -r _ dropped _ refused _ bytes _ ok <"$W/hostile.out"
[ "${dropped:-0}" -ge 40 ] && [ "${refused:-0}" -ge 1 ] &&
	pass "dribblers dropped at their deadline ($dropped), extra clients refused ($refused)" ||
	fail "hostile clients saw: $(cat "$W/hostile.out")"
[ "$ok" = True ] && pass "an answer left unread for 5 s arrived whole ($bytes bytes)" ||
	fail "unread answer: $bytes bytes, ok $ok"
wait_for 5 bh status && pass "control socket serves again" || fail "control socket dead"
bh status | grep -q "^control clients: [1-9][0-9]* refused (too many), [1-9][0-9]* dropped" &&
	pass "status counts refused and dropped clients" || fail "status lacks the control client counts"

kill -0 "$DPID" && pass "daemon alive after all that" || fail "daemon died: $(tail -3 "$W/bulkheadd.log")"
n=$(violations "$DPID")
[ "$n" = 0 ] && pass "no seccomp violation logged" || fail "$n seccomp violation(s) logged"
kill -TERM "$DPID"; wait "$DPID"; rc=$?; DPID=
[ $rc -eq 0 ] && pass "SIGTERM: clean exit under the filter" || fail "SIGTERM: exit status $rc"

# ---- --no-seccomp; detached ----
"$B/bulkheadd" --no-seccomp --rules "$RULES" --control-socket "$W/n.sock" \
	--state-dir "$STATE" --docker-socket "$ENGINE" --foreground >"$W/n.log" 2>&1 &
DPID=$!
wait_for 10 "$B/bulkhead" -s "$W/n.sock" status
[ "$(field "$DPID" Seccomp)" = 0 ] && [ "$(field "$DPID" CapEff)" = "$KEEP" ] &&
	[ "$(field "$DPID" CapBnd)" = "$KEEP" ] && [ "$(field "$DPID" NoNewPrivs)" = 1 ] &&
	pass "--no-seccomp: no filter, capabilities dropped all the same" ||
	fail "--no-seccomp: Seccomp $(field "$DPID" Seccomp) CapEff $(field "$DPID" CapEff)"
kill "$DPID"; wait "$DPID" 2>/dev/null; DPID=
"$B/bulkheadd" --rules "$RULES" --control-socket "$W/bg.sock" --state-dir "$STATE" \
	--docker-socket "$ENGINE"
BPID=$(pgrep -f -- "--control-socket $W/bg.sock")
wait_for 10 "$B/bulkhead" -s "$W/bg.sock" reload && [ -n "$BPID" ] &&
	[ "$(field "$BPID" Seccomp)" = 2 ] && pass "detached (syslog): answers and reloads under the filter" ||
	fail "detached daemon: pid '$BPID'"
[ -n "$BPID" ] && kill "$BPID" && wait_for 5 sh -c "! kill -0 $BPID" &&
	[ "$(violations "$BPID")" = 0 ] && pass "detached: clean exit, no violation" || fail "detached: exit or violation"
BPID=
finish
