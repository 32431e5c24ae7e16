#!/bin/bash
# hostile_client_test.sh: clients of the control socket cannot stall
# enforcement.  While clients dribble a request one byte a second (a new
# connection for each one dropped), others hold every free connection
# without a word, and one asks for a large answer and does not read it,
# a container started meanwhile is enforced as fast as with no client
# (the kernel's port guard holds its address, an allowed flow passes, a
# denied one does not).  Connections beyond the limit (64) are refused
# with a message; dribblers are dropped at their 2 s deadline; the
# unread answer arrives whole once read; afterwards the socket serves
# normally again.
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

# The hostile clients, for SECONDS: NDRIBBLE connections sending one byte
# a second (replaced when dropped), idle ones filling every other slot
# (replaced when dropped), one reading its large answer only at the end.
cat >"$W/hostile.py" <<'PY'
import json, socket, sys, time
path, ndribble, secs, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.setblocking(False)
    return s
refused = 0
def gone(s):
    """None while open; 'refused' or 'closed' once the daemon let go."""
    global refused
    try:
        d = s.recv(65536)
    except BlockingIOError:
        return None
    except OSError:
        return 'closed'
    if b'too many control connections' in d:
        refused += 1
        return 'refused'
    return 'closed' if d == b'' else None
big = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
big.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
big.connect(path)
big.sendall(b'{"cmd":"plan"}\n')
dribblers = [conn() for _ in range(ndribble)]
idle = []
t0 = time.time(); dropped = 0; tick = 0
req = b'{"cmd":"status"}'
while time.time() - t0 < secs:
    for i, s in enumerate(dribblers):
        g = gone(s)
        if g:
            s.close(); dropped += g == 'closed'; dribblers[i] = conn()
        else:
            try: dribblers[i].send(req[tick % len(req):][:1])
            except OSError: pass
    for s in list(idle):
        if gone(s):
            s.close(); idle.remove(s)
    while len(idle) + ndribble + 1 < limit + 4:   # always a few more than the limit
        idle.append(conn())
    tick += 1
    time.sleep(1)
big.setblocking(True)
big.settimeout(10)
ans = b''
while True:
    d = big.recv(1 << 20)
    if not d: break
    ans += d
try:
    ok = json.loads(ans).get('ok')
except ValueError:
    ok = 'unparsable'
print("dribblers-dropped %d refused-seen %d big-answer-bytes %d big-answer-ok %s" % (dropped, refused, len(ans), ok))
PY

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

python3 "$W/hostile.py" "$SOCK" 20 15 $LIMIT >"$W/hostile.out" 2>&1 &
HPID=$!
sleep 3	# the flood is on: every slot taken, dribblers cycling
out=$(bh status 2>&1)
grep -q "too many control connections" <<<"$out" &&
	pass "connection beyond $LIMIT refused with a message" || fail "extra client not refused: $(head -2 <<<"$out")"
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
	pass "unread large answer delivered whole afterwards ($bytes bytes)" ||
	fail "large answer: $bytes bytes, ok $ok"
grep -q "client(s) dropped: request not complete within 2000 ms" "$W/bulkheadd.log" &&
	pass "the log counts dropped clients" || fail "no drop in the log"
wait_for 5 bh status && pass "after the flood: control socket serves again" ||
	fail "after the flood: status fails"
kill -0 "$DPID" && pass "daemon alive" || fail "daemon died"
finish
