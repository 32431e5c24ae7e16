#!/bin/bash
# rss.sh: rss_per_container_kib of `make bench` (issue 9, item 5), as root:
# bulkheadd's resident memory at RSS_BIG (10000) containers minus at
# RSS_SMALL (100), ÷ their difference.  Runs in a network namespace of its
# own (unshare -n: no lock, nothing on the host's ruleset, no Docker): a
# stub engine (tests/e2e/stub_engine.py) lists synthetic containers, as
# bench.c's inventory has them (label group gK per 10 containers, one
# policy per group admitting its own group and the one before on TCP
# 80/443 and UDP 9000, egress to its own and the next), so the policies
# grow with the containers as in full_sync_vs_nft.  The containers have
# addresses and MACs but no network namespace or veth (10,000 of those
# would cost the kernel more than the measure is worth): the daemon keeps
# every one in its inventory, sets and policy chains; only their bridge
# port elements are missing.  Per round, for each size in turn (the order
# alternates): a fresh bulkheadd, VmRSS from /proc/PID/status once the
# first sync is applied (its log line, then metrics: in sync, every
# container known; a status of every container would leave its buffers
# in the figure).
# RSS_ROUNDS (2) rounds, median [min-max] of the per-round figure.
#
# Merges rss_per_container_kib into build/bench.json (BENCH_JSON).
# Knobs: RSS_SMALL, RSS_BIG, RSS_ROUNDS, BENCH_JSON.
set -u
cd "$(dirname "$0")/../.." || exit 1
if [ "$(id -u)" != 0 ]; then
	echo "rss: needs root (network namespace, nftables)" >&2
	exit 1
fi
if [ -z "${BH_RSS_NETNS:-}" ]; then
	BH_RSS_NETNS=1 exec unshare -n "$0" "$@"
fi
SMALL=${RSS_SMALL:-100} BIG=${RSS_BIG:-10000} ROUNDS=${RSS_ROUNDS:-2}
JSON=${BENCH_JSON:-build/bench.json}
B=build
W=$(mktemp -d /tmp/bhrss.XXXXXX)
chmod 755 "$W"
SOCK=$W/control.sock ENGINE=$W/docker.sock
DPID= EPID=

cleanup() {
	trap - EXIT INT TERM
	for p in $DPID $EPID; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "rss: $*" >&2; exit 1; }

for tool in jq curl python3; do
	command -v $tool >/dev/null || die "$tool is not installed"
done
make -s "$B/bulkheadd" "$B/bulkhead" >/dev/null || die "cannot build bulkheadd"
[ "$BIG" -gt "$SMALL" ] || die "RSS_BIG ($BIG) must exceed RSS_SMALL ($SMALL)"
ip link set lo up

# synth N: the stub's records ($W/ctr.N) and policies ($W/rules.N/).
synth() {
	mkdir -p "$W/rules.$1"
	chmod 755 "$W/rules.$1"
	python3 - "$1" "$W" <<'PY'
import json, sys
n, w = int(sys.argv[1]), sys.argv[2]
cts = [{"id": "%064x" % (0xb00000 + i), "name": "c%d" % i,
        "labels": {"group": "g%d" % (i // 10), "app": "a%d" % (i % 7)},
        "ip": "10.%d.%d.%d" % (100 + (i >> 16), (i >> 8) & 255, i & 255),
        "mac": "02:42:0a:%02x:%02x:%02x" % ((i >> 16) & 255, (i >> 8) & 255, i & 255),
        "sandbox": ""} for i in range(n)]
json.dump(cts, open("%s/ctr.%d" % (w, n), "w"))
g = (n + 9) // 10
pols = []
for k in range(g):
    prev, nxt = (k + g - 1) % g, (k + 1) % g
    src = "group in {'g%d', 'g%d'}" % (prev, k)
    dst = "group in {'g%d', 'g%d'}" % (k, nxt)
    pols.append({"apiVersion": "bulkhead/v1", "kind": "Policy",
                 "metadata": {"name": "grp-%d" % k},
                 "spec": {"selector": "group == 'g%d'" % k,
                          "ingress": [{"action": "allow", "protocol": "tcp", "source": {"selector": src},
                                       "destination": {"ports": [80, 443]}},
                                      {"action": "allow", "protocol": "udp", "source": {"selector": src},
                                       "destination": {"ports": [9000]}}],
                          "egress": [{"action": "allow", "protocol": "tcp",
                                      "destination": {"selector": dst, "ports": [80, 443]}},
                                     {"action": "allow", "protocol": "udp",
                                      "destination": {"selector": dst, "ports": [9000]}}]}})
json.dump(pols, open("%s/rules.%d/grp.json" % (w, n), "w"))
PY
	chmod 644 "$W/rules.$1/grp.json"
}

# measure N: a fresh engine holding N containers and a fresh bulkheadd;
# sets RSS (VmRSS KiB after the first sync) and SECS (time to reach it).
# Not in a subshell: DPID and EPID are the cleanup's.
measure() {
	local st t0
	for p in $DPID $EPID; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	DPID= EPID=
	bulkheadd_flush
	rm -f "$ENGINE" "$SOCK"
	python3 tests/e2e/stub_engine.py "$ENGINE" 2>>"$W/engine.log" &
	EPID=$!
	for _ in $(seq 50); do [ -S "$ENGINE" ] && break; sleep 0.1; done
	curl -sf --unix-socket "$ENGINE" --data-binary "@$W/ctr.$1" \
		http://stub/stub/load >/dev/null || die "stub engine: $(tail -3 "$W/engine.log")"
	t0=$(date +%s.%N)
	"$B/bulkheadd" --rules "$W/rules.$1" --control-socket "$SOCK" --state-dir "$W/state" \
		--docker-socket "$ENGINE" --foreground >"$W/daemon.log" 2>&1 &
	DPID=$!
	# Its log says when the listing is in; then metrics (small, unlike
	# a status of every container, whose buffers would count) until the
	# kernel holds it.
	for _ in $(seq 1200); do
		grep -q "inventory synchronised: $1 containers" "$W/daemon.log" && break
		kill -0 "$DPID" 2>/dev/null || die "bulkheadd exited: $(tail -3 "$W/daemon.log")"
		sleep 0.1
	done
	for _ in $(seq 100); do
		st=$("$B/bulkhead" -s "$SOCK" metrics 2>/dev/null |
			awk '$1 == "bulkhead_in_sync" {s = $2}
			     $1 == "bulkhead_containers{state=\"total\"}" {n = $2}
			     END {print s + 0, n + 0}')
		[ "$st" = "1 $1" ] && break
		sleep 0.1
	done
	[ "$st" = "1 $1" ] || die "bulkheadd did not sync $1 containers: $(tail -3 "$W/daemon.log")"
	SECS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
	RSS=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$DPID/status")
	# The kernel holds them: every address in the ingress map.
	KERNEL=$(nft list map inet bulkhead in4 | grep -o '10\.[0-9.]* : goto' | wc -l)
	[ "$KERNEL" -eq "$1" ] || die "the kernel's in4 map has $KERNEL addresses, not $1"
}
bulkheadd_flush() { "$B/bulkheadd" --flush >/dev/null 2>&1; }

synth "$SMALL" && synth "$BIG" || die "cannot write the synthetic inventory"
echo "rss: bulkheadd's VmRSS at $SMALL and $BIG synthetic containers, $ROUNDS rounds"
: >"$W/per"
for r in $(seq "$ROUNDS"); do
	for n in $([ $((r % 2)) -eq 1 ] && echo "$SMALL $BIG" || echo "$BIG $SMALL"); do
		measure "$n"
		if [ "$n" = "$SMALL" ]; then s=$RSS ts=$SECS; else b=$RSS tb=$SECS; fi
	done
	per=$(awk -v s="$s" -v b="$b" -v d=$((BIG - SMALL)) 'BEGIN {printf "%.3f", (b - s) / d}')
	echo "  round $r: $s KiB at $SMALL (synced in $ts s), $b KiB at $BIG ($tb s): $per KiB per container"
	echo "$per $s $b" >>"$W/per"
done
read -r med min max <<<"$(cut -d' ' -f1 "$W/per" | sort -g |
	awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2;
	printf "%.3f %.3f %.3f\n", m, v[1], v[NR]}')"
sm=$(cut -d' ' -f2 "$W/per" | sort -n | head -1) bm=$(cut -d' ' -f3 "$W/per" | sort -n | tail -1)
echo "rss per container: $med KiB [$min-$max] (goal <= 4)"
detail="bulkheadd's VmRSS after its first sync at $BIG synthetic containers minus at $SMALL, ÷ $((BIG - SMALL)); one policy per 10 containers; stub engine, containers without veths (no bridge port elements), the kernel's in4 map holding every address; fresh daemon per size, alternated; median of $ROUNDS rounds, min $min max $max; VmRSS from $sm KiB (small) to $bm KiB (big)"
[ -s "$JSON" ] || echo '{}' >"$JSON"
jq --argjson v "$med" --arg d "$detail" \
	'.rss_per_container_kib = {value: $v, goal: 4, better: "lower", detail: $d}' \
	"$JSON" >"$W/bench.json" && cp "$W/bench.json" "$JSON"
echo "rss: figures in $JSON"
