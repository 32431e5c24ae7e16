#!/bin/bash
# run.sh: `make bench` (issue 9), as root.  Builds build/bench/bhbench
# (tools/bench/bench.c), wires three network namespaces of its own --
#
#   bhb-cli-PID: eth0 10.213.0.2 ─ veth ─┐
#                                         ├ bridge in bhb-host-PID (br_netfilter on)
#   bhb-srv-PID: eth0 10.213.0.3 ─ veth ─┘  <- bulkhead's tables go here
#
# -- and runs the benchmarks: per-packet cost at N synthetic containers
# against no tables and a linear ruleset, then programming cost.  All
# tables live in bhb-host-PID: nothing is written into the host's own
# ruleset and no packet leaves the namespaces.  Everything is removed on
# exit, whatever happens.  Prints a table, writes build/bench.json.
# Then, each merging its figures into build/bench.json:
#   latency.sh  enforce_latency_p50/p99_ms and leaked_probes (real
#               containers, the host's nftables);
#   logging.sh  log_completeness and allowed_cps_under_flood (bulkheadd,
#               bulkhead-capture and a stub engine in a namespace of its own);
#   rss.sh      rss_per_container_kib (bulkheadd on a stub engine with
#               synthetic containers, in a namespace of its own).
#
# Needs only what tools/install-deps.sh installs (gcc, pkg-config, libnftnl,
# libmnl, jansson, iproute2, nftables for the `nft -f` anchor, procps).
#
# Knobs (environment): BENCH_SIZES (10,1000,10000), BENCH_LINEAR
# (1000,10000), BENCH_ROUNDS (5), BENCH_SECS (2), BENCH_PROGRAM_SIZES
# (100,1000,10000), BENCH_PROGRAM_ROUNDS (3), BENCH_CHANGES (34 per round),
# BENCH_ONLY (dataplane|program|latency|logging|rss), BENCH_JSON
# (build/bench.json); latency.sh: LAT_N (200 container starts for the
# enforcement latency), LEAK_N (20 starts probed), LEAK_PPS (500);
# logging.sh: LOG_PPS (50000), LOG_SECS (2), LOG_ROUNDS (3), FLOOD_PPS
# (100000), CPS_SECS (3), CPS_ROUNDS (3), FLOOD_CPU (1), CPS_CPU (0);
# rss.sh: RSS_SMALL (100), RSS_BIG (10000), RSS_ROUNDS (2).  Each script's
# header says more.
set -u
cd "$(dirname "$0")/../.." || exit 1

case ${BENCH_ONLY:-} in
""|dataplane|program|latency|logging|rss) ;;
*) echo "bench: BENCH_ONLY=$BENCH_ONLY: not dataplane, program, latency, logging or rss" >&2
   exit 2
esac
if [ "$(id -u)" != 0 ]; then
	echo "bench: needs root (network namespaces, nftables)" >&2
	exit 1
fi
if pgrep -x bulkheadd >/dev/null; then
	# Ours live in a namespace of their own, so only the CPU is shared.
	echo "bench: warning: a bulkheadd is running (pid $(pgrep -x bulkheadd | tr '\n' ' '));" \
	    "its work may add noise to the figures" >&2
fi
if [ ! -d /proc/sys/net/bridge ]; then
	modprobe br_netfilter 2>/dev/null
	[ -d /proc/sys/net/bridge ] || { echo "bench: br_netfilter unavailable" >&2; exit 1; }
fi

B=build/bench
mkdir -p "$B"
PKG="libnftnl libmnl jansson"
SRC="src/log.c src/util.c src/labels.c src/errlist.c src/selector.c src/jsonloc.c
src/policy.c src/k8s.c src/evaluate.c src/inventory.c src/ir.c src/ir_diff.c src/compile.c src/snapshot.c
src/nft.c src/quarantine.c"
# shellcheck disable=SC2046,SC2086
gcc -std=gnu11 -O2 -Iinclude -D_GNU_SOURCE $(pkg-config --cflags $PKG) \
	-o "$B/bhbench" tools/bench/bench.c $SRC $(pkg-config --libs $PKG) ||
	{ echo "bench: cannot build bhbench" >&2; exit 1; }
[ -x build/bulkheadd ] || make -s build/bulkheadd >/dev/null 2>&1 || true

H=bhb-host-$$ C=bhb-cli-$$ S=bhb-srv-$$
BR=br-bhb$$ VC=bhbc$$ VS=bhbs$$
MAC_C=02:bb:ff:00:00:02 MAC_S=02:bb:ff:00:00:03
WORK=$(mktemp -d /tmp/bhbench.XXXXXX)

cleanup() {
	trap - EXIT INT TERM
	[ -n "${PID:-}" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	if ip netns list | grep -qw "$H"; then
		# bulkheadd's own flush, in the namespace our tables are in.
		[ -x build/bulkheadd ] && ip netns exec "$H" build/bulkheadd --flush >/dev/null 2>&1
		ip netns exec "$H" nft delete table inet bhlinear 2>/dev/null
	fi
	for ns in "$C" "$S" "$H"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

setup() {
	local ns
	ip netns add "$H" && ip netns add "$C" && ip netns add "$S" || return 1
	for ns in "$H" "$C" "$S"; do
		ip -n "$ns" link set lo up || return 1
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		    net.ipv6.conf.default.disable_ipv6=1 || return 1
	done
	ip netns exec "$H" sysctl -qw net.bridge.bridge-nf-call-iptables=1 || return 1
	ip -n "$H" link add "$BR" type bridge || return 1
	ip -n "$H" link set "$BR" type bridge nf_call_iptables 1 2>/dev/null
	ip -n "$H" link set "$BR" up || return 1
	ip -n "$H" link add "$VC" type veth peer name eth0 netns "$C" || return 1
	ip -n "$H" link add "$VS" type veth peer name eth0 netns "$S" || return 1
	ip -n "$C" link set eth0 address "$MAC_C" && ip -n "$S" link set eth0 address "$MAC_S" || return 1
	ip -n "$C" addr add 10.213.0.2/16 dev eth0 && ip -n "$S" addr add 10.213.0.3/16 dev eth0 || return 1
	ip -n "$H" link set "$VC" master "$BR" up && ip -n "$H" link set "$VS" master "$BR" up || return 1
	ip -n "$C" link set eth0 up && ip -n "$S" link set eth0 up
}
setup || { echo "bench: namespace setup failed" >&2; exit 1; }

ARGS=(--host-ns "$H" --client-ns "$C" --server-ns "$S" --bridge "$BR"
	--client-veth "$VC" --client-mac "$MAC_C" --server-veth "$VS" --server-mac "$MAC_S"
	--sizes "${BENCH_SIZES:-10,1000,10000}" --linear "${BENCH_LINEAR:-1000,10000}"
	--rounds "${BENCH_ROUNDS:-5}" --secs "${BENCH_SECS:-2}"
	--program-sizes "${BENCH_PROGRAM_SIZES:-10,1000,10000}"
	--program-rounds "${BENCH_PROGRAM_ROUNDS:-3}" --changes "${BENCH_CHANGES:-34}"
	--workdir "$WORK" --json "${BENCH_JSON:-build/bench.json}")
[ -n "${BENCH_ONLY:-}" ] && ARGS+=(--only "$BENCH_ONLY")

echo "bench: $(date -u '+%F %T') UTC, $(uname -r), $(nproc) CPUs, $(nft --version 2>/dev/null)"
start=$(date +%s)
rc=0
case ${BENCH_ONLY:-} in
""|dataplane|program)
	"$B/bhbench" "${ARGS[@]}" &
	PID=$!
	wait "$PID"; rc=$?; PID=
esac
# The others merge into what bhbench wrote (it writes the file whole).
# Enforcement latency: real containers and the host's nftables, after the
# namespace benchmarks.
for part in latency logging rss; do
	[ -z "${BENCH_ONLY:-}" ] || [ "$BENCH_ONLY" = $part ] || continue
	echo
	BENCH_JSON=${BENCH_JSON:-build/bench.json} tools/bench/$part.sh || rc=1
done
# Every figure of the file, with its goal: this run's and any earlier
# one's that a BENCH_ONLY run kept.
if [ -s "${BENCH_JSON:-build/bench.json}" ]; then
	echo
	echo "== figures (${BENCH_JSON:-build/bench.json})"
	jq -r 'to_entries[] | .value as $f | [.key, ($f.value | tostring),
		(if $f.goal == null then "-" else (if $f.better == "higher" then ">= " else "<= " end)
		 + ($f.goal | tostring) end),
		(if $f.goal == null then "" elif ($f.better == "higher" and $f.value >= $f.goal) or
		 ($f.better == "lower" and $f.value <= $f.goal) then "met" else "MISSED" end)] | @tsv' \
		"${BENCH_JSON:-build/bench.json}" |
		awk -F'\t' '{v = $2 + 0; printf "  %-26s %12s  goal %-9s %s\n", $1,
			sprintf(v >= 1000 || v == int(v) ? "%.0f" : "%.3f", v), $3, $4}'
fi
echo
echo "bench: done in $(( $(date +%s) - start )) s, exit $rc; figures in ${BENCH_JSON:-build/bench.json}"
env_line=""
for v in BENCH_SIZES BENCH_LINEAR BENCH_ROUNDS BENCH_SECS BENCH_PROGRAM_SIZES \
	 BENCH_PROGRAM_ROUNDS BENCH_CHANGES BENCH_ONLY BENCH_JSON LAT_N LEAK_N LEAK_PPS \
	 LOG_PPS LOG_SECS LOG_ROUNDS FLOOD_PPS CPS_SECS CPS_ROUNDS FLOOD_CPU CPS_CPU \
	 RSS_SMALL RSS_BIG RSS_ROUNDS; do
	[ -n "${!v:-}" ] && env_line="$env_line $v=${!v}"
done
echo "reproduce: sudo${env_line} make bench    (or: sudo${env_line} tools/bench/run.sh)"
exit $rc
