#!/bin/bash
# privs_test.sh: bulkheadd drops its privileges after start-up and still
# does all of its work.  A running daemon (and each of its threads, the
# metrics listener's included) holds CAP_NET_ADMIN alone in its effective,
# permitted and bounding sets, nothing inheritable or ambient, has
# no_new_privs and a seccomp filter (/proc/PID/status: Seccomp 2).  Under
# that filter it goes through a whole cycle: containers known and
# enforced, a container started later (a delta), a reload over the
# control socket, SIGHUP, quarantine (its state file written in
# --state-dir) and release, status, plan, metrics over HTTP, drift checks,
# and a clean exit on SIGTERM; the kernel's log shows no seccomp
# violation of its pid.  Also: --no-seccomp leaves the filter out but
# drops capabilities all the same, and a daemon in the background
# (syslog, daemon(3)) works under the filter.
. "$(dirname "$0")/lib.sh"
need_root

GROUP=105
PORT=$((20000 + $$ % 1000))
KEEP=0000000000001000	# 1 << CAP_NET_ADMIN (12)
W=$(mktemp -d /tmp/bulkhead-e2e.XXXXXX)
RULES=$W/rules STATE=$W/state SOCK=$W/control.sock
mkdir -p "$RULES"; chmod 755 "$W" "$RULES"
DPID= NPID= BPID=

teardown() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	[ -n "$NPID" ] && kill "$NPID" 2>/dev/null
	[ -n "$BPID" ] && kill "$BPID" 2>/dev/null
	"$B/bulkheadd" --flush >/dev/null 2>&1
	cleanup_containers
	rm -rf "$W"
}
trap teardown EXIT

write_policy() { # write_policy SOURCE-SELECTOR
	cat >"$RULES/10-db.json" <<JSON
{"apiVersion": "bulkhead/v1", "kind": "Policy", "metadata": {"name": "db-ingress"},
 "spec": {"selector": "app == 'db'",
          "ingress": [{"action": "allow", "protocol": "tcp",
                       "source": {"selector": "$1"},
                       "destination": {"ports": [5432]}}]}}
JSON
	chmod 644 "$RULES/10-db.json"
}
bh() { "$B/bulkhead" -s "$SOCK" "$@"; }
in_sync() { # in_sync N
	local st
	st=$(bh -o json status) || return 1
	[ "$(jq '.in_sync' <<<"$st")" = true ] &&
	[ "$(jq '[.containers[] | select(.labels["bulkhead.test"] == "1") | select(.endpoints[0].veth != "")] | length' <<<"$st")" -ge "$1" ]
}
field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
# violations PID: the kernel's seccomp records (audit type 1326) of PID.
violations() { dmesg 2>/dev/null | grep 'type=1326' | grep -c " pid=$1 "; }

cleanup_containers
"$B/bulkheadd" --flush >/dev/null 2>&1
write_policy "app == 'api'"
run_ctr pdb app=db nc -ll -p 5432 -e echo db-ok
run_ctr papi app=api sleep 1d
run_ctr pweb app=web sleep 1d
DB=$(ctr_ip pdb)
"$B/bulkheadd" --rules "$RULES" --control-socket "$SOCK" --state-dir "$STATE" \
	--metrics-listen "127.0.0.1:$PORT" --foreground --nflog-group $GROUP -v \
	>>"$W/bulkheadd.log" 2>&1 &
DPID=$!
wait_for 20 in_sync 3 && pass "daemon in sync with 3 containers" ||
	fail "no sync: $(tail -3 "$W/bulkheadd.log")"
dmesg >/dev/null 2>&1 || fail "cannot read the kernel log (dmesg): seccomp violations would go unseen"

# ---- what the running daemon holds ----
for f in CapEff CapPrm CapBnd; do
	v=$(field "$DPID" $f)
	[ "$v" = "$KEEP" ] && pass "$f $v: CAP_NET_ADMIN alone" || fail "$f is $v, want $KEEP"
done
for f in CapInh CapAmb; do
	v=$(field "$DPID" $f)
	[ "$v" = 0000000000000000 ] && pass "$f empty" || fail "$f is $v"
done
[ "$(field "$DPID" NoNewPrivs)" = 1 ] && pass "NoNewPrivs 1" || fail "NoNewPrivs $(field "$DPID" NoNewPrivs)"
[ "$(field "$DPID" Seccomp)" = 2 ] && pass "Seccomp 2 (filter mode)" || fail "Seccomp $(field "$DPID" Seccomp)"
nthreads=0 bad=
for t in /proc/"$DPID"/task/*; do
	nthreads=$((nthreads + 1))
	s=$(awk '$1 ~ /^(CapEff|CapPrm|CapBnd|Seccomp):$/ { printf "%s%s ", $1, $2 }' "$t/status")
	[ "$s" = "CapPrm:$KEEP CapEff:$KEEP CapBnd:$KEEP Seccomp:2 " ] || bad="$bad ${t##*/}:$s"
done
[ "$nthreads" -ge 2 ] && [ -z "$bad" ] &&
	pass "all $nthreads threads (metrics listener's included) hold the same" ||
	fail "threads: $nthreads, differing:$bad"
grep -q "privileges dropped: CAP_NET_ADMIN kept, no_new_privs, seccomp filter" "$W/bulkheadd.log" &&
	pass "the log says what was kept" || fail "no privileges line in the log"

# ---- a whole cycle under the filter ----
[ "$(tcp_reply papi "$DB" 5432)" = db-ok ] && pass "allowed: api -> db" || fail "allowed: api -> db blocked"
[ -z "$(tcp_reply pweb "$DB" 5432)" ] && pass "denied: web -> db" || fail "denied: web -> db passed"
run_ctr pdb2 app=db nc -ll -p 5432 -e echo db2-ok
DB2=$(ctr_ip pdb2)
wait_for 10 in_sync 4 && pass "a container started later is known (its netns id read)" ||
	fail "pdb2 not learned: $(tail -3 "$W/bulkheadd.log")"
[ "$(tcp_reply papi "$DB2" 5432)" = db2-ok ] && [ -z "$(tcp_reply pweb "$DB2" 5432)" ] &&
	pass "new container enforced (api allowed, web denied)" || fail "new container not enforced"
grep -q "delta: " "$W/bulkheadd.log" && pass "changes applied as deltas" || fail "no delta in the log"
write_policy "app in {'api', 'web'}"
bh reload >"$W/reload.out" 2>&1 && pass "reload over the control socket" ||
	fail "reload: $(cat "$W/reload.out")"
[ "$(tcp_reply pweb "$DB" 5432)" = db-ok ] && pass "after reload: web -> db allowed" || fail "reload not applied"
write_policy "app == 'api'"
kill -HUP "$DPID"
wait_for 5 sh -c "[ -z \"\$(docker exec pweb nc -w 1 $DB 5432 </dev/null 2>/dev/null)\" ]" &&
	pass "SIGHUP reload applied" || fail "SIGHUP reload not applied"
bh quarantine papi --reason "privs test" >"$W/q.out" 2>&1 && pass "quarantine accepted" ||
	fail "quarantine: $(cat "$W/q.out")"
grep -q "privs test" "$STATE/quarantine.json" 2>/dev/null &&
	pass "quarantine state written in --state-dir" || fail "state file: $(ls -l "$STATE" 2>&1)"
[ -z "$(tcp_reply papi "$DB" 5432)" ] && pass "quarantined api cut off" || fail "quarantined api still reaches db"
bh release papi >/dev/null 2>&1 && ! grep -q "privs test" "$STATE/quarantine.json" &&
	pass "release rewrites the state file" || fail "release: $(cat "$STATE/quarantine.json")"
[ "$(tcp_reply papi "$DB" 5432)" = db-ok ] && pass "released api reaches db again" || fail "release not applied"
bh status | grep -q "^  pdb2 " && pass "status" || fail "status lacks pdb2"
[ "$(bh plan --diff)" = "plan: no change" ] && pass "plan --diff: kernel in sync" || fail "plan --diff differs"
curl -sf "http://127.0.0.1:$PORT/metrics" | grep -q '^bulkhead_applies_total [1-9]' &&
	pass "metrics over HTTP from the unprivileged listener thread" || fail "metrics over HTTP"
if nft delete table inet bulkhead 2>/dev/null; then
	wait_for 5 nft list table inet bulkhead && pass "drift: deleted table restored" ||
		fail "drift: table not restored"
else
	pass "drift: our table cannot be deleted by another process (owned)"
fi
sleep 2	# two drift checks (nft list of our tables) under the filter
kill -0 "$DPID" 2>/dev/null && pass "daemon alive after the cycle" || fail "daemon died: $(tail -3 "$W/bulkheadd.log")"
n=$(violations "$DPID")
[ "$n" = 0 ] && pass "no seccomp violation logged for pid $DPID" ||
	fail "$n seccomp violation(s): $(dmesg | grep type=1326 | grep " pid=$DPID " | grep -o 'syscall=[0-9]*' | sort -u | tr '\n' ' ')"
kill -TERM "$DPID"; wait "$DPID"; rc=$?; DPID=
[ $rc -eq 0 ] && pass "SIGTERM: clean exit under the filter" || fail "SIGTERM: exit status $rc"

# ---- --no-seccomp, and the background daemon (in a private netns) ----
mkdir -p "$W/r2"; chmod 755 "$W/r2"
unshare -n "$B/bulkheadd" --no-seccomp --rules "$W/r2" --control-socket "$W/ns.sock" \
	--state-dir "$W/s2" --foreground >"$W/ns.log" 2>&1 &
NPID=$!
wait_for 10 "$B/bulkhead" -s "$W/ns.sock" status
[ "$(field "$NPID" Seccomp)" = 0 ] && [ "$(field "$NPID" CapEff)" = "$KEEP" ] &&
	[ "$(field "$NPID" CapBnd)" = "$KEEP" ] && [ "$(field "$NPID" NoNewPrivs)" = 1 ] &&
	pass "--no-seccomp: no filter, capabilities dropped all the same" ||
	fail "--no-seccomp: Seccomp $(field "$NPID" Seccomp) CapEff $(field "$NPID" CapEff)"
kill "$NPID"; wait "$NPID" 2>/dev/null; NPID=
unshare -n "$B/bulkheadd" --rules "$W/r2" --control-socket "$W/bg.sock" --state-dir "$W/s2"
BPID=$(pgrep -f -- "--control-socket $W/bg.sock")
if wait_for 10 "$B/bulkhead" -s "$W/bg.sock" reload && [ -n "$BPID" ] &&
    [ "$(field "$BPID" Seccomp)" = 2 ]; then
	pass "background daemon (syslog) under the filter answers and reloads"
else
	fail "background daemon: pid '$BPID', $(tail -3 /var/log/syslog 2>/dev/null)"
fi
[ -n "$BPID" ] && kill "$BPID" && wait_for 5 sh -c "! kill -0 $BPID" &&
	[ "$(violations "$BPID")" = 0 ] && pass "background daemon: clean exit, no violation" ||
	fail "background daemon: exit or violations ($(violations "$BPID"))"
BPID=
finish
