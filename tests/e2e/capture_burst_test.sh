#!/bin/bash
# capture_burst_test.sh: a burst of 100,000 denied packets is fully
# accounted for by bulkhead-capture.  Real bulkheadd (log rate 20000/s,
# burst 2000, so that the kernel's rate limit keeps part of the burst out
# of NFLOG) and two containers: src sends 100,000 one-byte UDP datagrams
# (build/e2e/udp_burst, run in src's network namespace) to sink's port
# 9999, which sink's policy denies (its default deny).
#
# The test reads the kernel's counters itself (bulkhead status -o json:
# the drop rule's packets K and the log rule's packets L, before and
# after) and counts the capture's output itself (packet lines C, and the
# records of its loss lines S), then checks
#     C + S + (K - L) == K   and   K == the packets sent
# exactly, and that the capture's own summary says the same.  Twice: a
# capture that keeps up, and one stopped (SIGSTOP) during the burst with
# a 64 KiB socket buffer, so that records are lost in the socket and
# must be counted (then a few more packets after the burst, so that a
# loss at the very end shows as a gap in the sequence numbers too).
. "$(dirname "$0")/lib.sh"
need_root

GROUP=121
N=100000
CAP=$B/bulkhead-capture
SEND=$B/e2e/udp_burst
W=$(mktemp -d /tmp/bulkhead-burst.XXXXXX)
RULES=$W/rules
SOCK=$W/control.sock
mkdir -p "$RULES"
chmod 755 "$W" "$RULES"
DPID=
CPID=

teardown() {
	[ -n "$CPID" ] && { kill -CONT "$CPID"; kill "$CPID"; wait "$CPID"; } 2>/dev/null
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	"$B/bulkheadd" --flush >/dev/null 2>&1
	cleanup_containers
	rm -rf "$W"
}
trap teardown EXIT

for tool in jq nsenter; do
	command -v $tool >/dev/null || { fail "$tool is not installed"; finish; exit 1; }
done
[ -x "$SEND" ] || { fail "$SEND missing (make e2e-bins)"; finish; exit 1; }

cat >"$RULES/10-sink.json" <<'JSON'
{"apiVersion": "bulkhead/v1", "kind": "Policy",
 "metadata": {"name": "sink-ingress"},
 "spec": {"selector": "app == 'sink'",
          "ingress": [{"action": "allow", "protocol": "tcp",
                       "source": {"selector": "app == 'src'"},
                       "destination": {"ports": [80]}}]}}
JSON
chmod 644 "$RULES/10-sink.json"
TAG='bh|D|I|*|sink-ingress'

in_sync() {
	local st
	st=$("$B/bulkhead" -s "$SOCK" -o json status) || return 1
	[ "$(jq '.in_sync' <<<"$st")" = true ] &&
	[ "$(jq '[.containers[] | select(.labels["bulkhead.test"] == "1") | select(.endpoints[0].veth != "")] | length' <<<"$st")" -eq 2 ]
}
# counters: "K L" of the sink's default deny, from the daemon.
counters() {
	"$B/bulkhead" -s "$SOCK" -o json status |
		jq -r --arg t "$TAG" '.counters[] | select(.tag == $t) | "\(.packets) \(.logged)"'
}
send() { nsenter --net="/proc/$SRCPID/ns/net" "$SEND" "$SINK" 9999 "$1"; }
ready() { grep -q "kernel counters read at the start" "$1.err"; }

cleanup_containers
"$B/bulkheadd" --flush >/dev/null 2>&1
run_ctr sink app=sink sleep 1d
run_ctr src app=src sleep 1d
SINK=$(ctr_ip sink)
SRCPID=$(docker inspect -f '{{.State.Pid}}' src)

"$B/bulkheadd" --rules "$RULES" --control-socket "$SOCK" --foreground \
	--nflog-group $GROUP --log-rate 20000 --log-burst 2000 \
	>>"$W/bulkheadd.log" 2>&1 &
DPID=$!
if wait_for 20 in_sync; then pass "daemon knows sink and src"
else fail "daemon did not reach sync: $(tail -5 "$W/bulkheadd.log")"; finish; exit 1; fi
# The first datagram waits for ARP: sent before any capture, so that the
# burst meets a resolved neighbour (the kernel queues only a few packets
# while it resolves).
send 1 >/dev/null
sleep 1
[ -n "$(counters)" ] && pass "status lists the deny's counters with logged" ||
	fail "no counters for $TAG: $("$B/bulkhead" -s "$SOCK" -o json status | jq -c .counters)"

# burst NAME EXTRA CAPTURE-ARGS...: one capture around one burst of N
# (then EXTRA more packets when EXTRA > 0, after the capture caught up);
# the capture is stopped with SIGSTOP during the burst when STALL=1.
burst() {
	local name=$1 extra=$2 out=$W/$1.json k0 l0 k1 l1 k l r c s sent line; shift 2
	read -r k0 l0 <<<"$(counters)"
	"$CAP" -g $GROUP -s "$SOCK" -o json -v "$@" >"$out" 2>"$out.err" &
	CPID=$!
	wait_for 10 ready "$out" || { fail "$name: capture not ready: $(cat "$out.err")"; return; }
	[ "${STALL:-0}" = 1 ] && kill -STOP "$CPID"
	line=$(send $N) || fail "$name: the sender failed: $line"
	echo "# $name: $line"
	[ "${STALL:-0}" = 1 ] && { sleep 0.5; kill -CONT "$CPID"; }
	sleep 2
	[ "$extra" -gt 0 ] && { send "$extra" >/dev/null; sleep 1; }
	kill -INT "$CPID"
	wait "$CPID"
	CPID=
	read -r k1 l1 <<<"$(counters)"
	k=$((k1 - k0)); l=$((l1 - l0)); r=$((k - l))
	sent=$((N + extra))
	c=$(jq -s 'map(select(.event == "packet" and .prefix == "'"$TAG"'")) | length' "$out")
	s=$(jq -s '[.[] | select(.event == "loss") | .records // 0] | add // 0' "$out")
	echo "# $name: kernel dropped $k, logged $l, rate-limited $r; captured $c, lost in the socket $s"
	[ "$k" -eq "$sent" ] && pass "$name: the kernel's drop counter moved by the $sent packets sent" ||
		fail "$name: the drop counter moved by $k, $sent were sent"
	[ $((c + s + r)) -eq "$k" ] &&
		pass "$name: captured $c + lost in socket $s + rate-limited $r = dropped $k" ||
		fail "$name: captured $c + lost $s + rate-limited $r = $((c + s + r)), the kernel dropped $k: $((k - c - s - r)) unaccounted"
	[ "$r" -gt 0 ] && pass "$name: the log rate limit kept $r packets out of NFLOG, counted" ||
		fail "$name: nothing rate-limited (log rate 20000/s): the burst was too slow?"
	if jq -e -s --argjson k "$k" --argjson l "$l" --argjson c "$c" --argjson s "$s" \
		'.[-1] | .event == "summary" and .kernel.accounted == true and
		.kernel.unaccounted == 0 and .kernel.matched == $k and
		.kernel.logged == $l and .kernel.rate_limited == $k - $l and
		.kernel.captured == $c and .kernel.lost == $s and .lost == $s and
		(.kernel.rules | any(.tag == "'"$TAG"'" and .matched == $k and
		.logged == $l and .captured == $c))' "$out" >/dev/null; then
		pass "$name: the capture's summary agrees and says accounted"
	else
		fail "$name: summary: $(tail -1 "$out" | jq -c 'del(.kernel.rules)')"
	fi
	grep -q "all $k accounted for" "$out.err" && ! grep -q MISMATCH "$out.err" &&
		pass "$name: stderr: all $k accounted for" ||
		fail "$name: stderr: $(grep -v '^[0-9:.]* bulkhead-capture: ' "$out.err" | tail -4)"
	LOST=$s
}

STALL=0 burst steady 0
STALL=1 burst stalled 10 -B 64
[ "${LOST:-0}" -gt 0 ] && pass "stalled: $LOST records lost in the socket, every one counted" ||
	fail "stalled: no record lost with a stopped reader and 64 KiB (the test proves nothing)"

finish
