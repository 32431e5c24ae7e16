#!/bin/bash
# logging.sh: log_completeness and allowed_cps_under_flood of `make bench`
# (issue 9, item 4), as root.  Runs in a network namespace of its own
# (unshare -n: no lock, nothing on the host's ruleset, no Docker): a stub
# engine (tests/e2e/stub_engine.py) announces three containers, each a
# network namespace with a veth on bridge brstub0 (br_netfilter on), as
# Docker wires them:
#   sink 10.99.0.11 app=sink: policy sink-ingress lets in TCP 80 from
#        app=cli, so everything else to it is denied (and logged);
#   src  10.99.0.12 app=src:  the denied sender, UDP to sink:9999
#        (build/e2e/udp_burst -r PPS, paced);
#   cli  10.99.0.13 app=cli:  the allowed client, TCP connections to
#        sink:80 (build/bench/tcp_crr, connect + reset, one at a time).
#
# log_completeness: bulkheadd with its log rate limit configured out of the
#   way (--log-rate/--log-burst 100000000), bulkhead-capture -o json
#   (names from the daemon, default 16 MiB buffer) reading the group; src
#   offers LOG_PPS (50000) denied datagrams a second for LOG_SECS (2).
#   Per round: packet records the capture wrote for the deny's tag ÷ the
#   kernel's counter on the log rule (bulkhead status: logged, before and
#   after); LOG_ROUNDS (3) rounds, median [min-max]; the detail says any
#   shortfall and the losses the capture's summary reports (lost in the
#   socket, overruns).
# allowed_cps_under_flood: bulkheadd with its default log limits, no
#   capture; cli's connection rate to sink for CPS_SECS (3) while src
#   floods sink with FLOOD_PPS (100000) denied datagrams a second ÷ the
#   rate without the flood: while the same sender sends at the same rate
#   through a veth of its own to a namespace without a listener (a sham:
#   the flood's CPU about as busy, nothing reaching the bridge or
#   bulkhead's rules).  The rate with no sender at all is measured too
#   and its ratio given in the detail; it is no fair baseline here: on
#   this VM an idle second CPU slows the first one's connections by a
#   third.  Quiet, flood and sham rotate for CPS_ROUNDS (3) rounds,
#   median [min-max].  The flood is pinned to
#   CPU FLOOD_CPU (1), the connections to CPU CPS_CPU (0) (no pinning on
#   one CPU): a veth delivers in its sender's softirq, so the flood's
#   forwarding and dropping run on the flood's CPU, as a flooding
#   container's would.
#
# Merges both into build/bench.json (BENCH_JSON), the way latency.sh does.
# Knobs: LOG_PPS, LOG_SECS, LOG_ROUNDS, FLOOD_PPS, CPS_SECS, CPS_ROUNDS,
# FLOOD_CPU, CPS_CPU, BENCH_JSON; LOG_CAPTURE_ARGS (more bulkhead-capture
# options: "-B 64", a 64 KiB buffer, shows a shortfall and its losses).  Removes everything it created on exit.
set -u
cd "$(dirname "$0")/../.." || exit 1
if [ "$(id -u)" != 0 ]; then
	echo "logging: needs root (network namespaces, nftables)" >&2
	exit 1
fi
if [ -z "${BH_LOGGING_NETNS:-}" ]; then
	BH_LOGGING_NETNS=1 exec unshare -n "$0" "$@"
fi
LOG_PPS=${LOG_PPS:-50000} LOG_SECS=${LOG_SECS:-2} LOG_ROUNDS=${LOG_ROUNDS:-3}
FLOOD_PPS=${FLOOD_PPS:-100000} CPS_SECS=${CPS_SECS:-3} CPS_ROUNDS=${CPS_ROUNDS:-3}
FLOOD_CPU=${FLOOD_CPU:-1} CPS_CPU=${CPS_CPU:-0}
JSON=${BENCH_JSON:-build/bench.json}
B=build
GROUP=131
SINK=10.99.0.11 SRC=10.99.0.12 CLI=10.99.0.13
TAG='bh|D|I|*|sink-ingress'
W=$(mktemp -d /tmp/bhlogging.XXXXXX)
chmod 755 "$W"
SOCK=$W/control.sock ENGINE=$W/docker.sock
DPID= EPID= CPID= SPID= FPID= NS=()

cleanup() {
	trap - EXIT INT TERM
	for p in $FPID $CPID $SPID $DPID $EPID; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	for ns in "${NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "logging: $*" >&2; exit 1; }

for tool in jq curl python3 taskset; do
	command -v $tool >/dev/null || die "$tool is not installed"
done
make -s "$B/bulkheadd" "$B/bulkhead" "$B/bulkhead-capture" "$B/e2e/udp_burst" \
	>/dev/null || die "cannot build the programs"
mkdir -p "$B/bench"
gcc -std=gnu11 -O2 -Wall -Wextra -o "$B/bench/tcp_crr" tools/bench/tcp_crr.c ||
	die "cannot build tcp_crr"
# Pinning prefixes (none on one CPU); commands, not functions, so that a
# background job's pid is the program's own.
PIN_FLOOD=() PIN_CPS=()
[ "$(nproc)" -ge 2 ] && PIN_FLOOD=(taskset -c "$FLOOD_CPU") PIN_CPS=(taskset -c "$CPS_CPU")

# ---- the namespaces and the engine ----
ip link set lo up
sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null ||
	die "br_netfilter unavailable (modprobe br_netfilter)"
ip link add brstub0 type bridge && ip addr add 10.99.0.1/24 dev brstub0 &&
	ip link set brstub0 up || die "bridge setup failed"
# ctr NAME IP APP: a netns with a veth on brstub0; appends its stub
# record to RECS (not in a subshell: NS lists the namespaces to remove).
RECS=
ctr() {
	local ns=bhlog-$$-$1 mac
	ip netns add "$ns" && NS+=("$ns") || return 1
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
	ip link add "vl$1" type veth peer name eth0 netns "$ns" &&
	ip link set "vl$1" master brstub0 up &&
	ip -n "$ns" addr add "$2/24" dev eth0 && ip -n "$ns" link set eth0 up &&
	ip -n "$ns" link set lo up || return 1
	mac=$(ip -n "$ns" -o link show eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
	RECS=$RECS${RECS:+,}$(printf '{"id":"%064d","name":"%s","labels":{"app":"%s"},"ip":"%s","mac":"%s","sandbox":"/run/netns/%s"}' \
		"${#NS[@]}" "$1" "$3" "$2" "$mac" "$ns" | sed 's/^{"id":"0/{"id":"b/')
}
ctr sink $SINK sink && ctr src $SRC src && ctr cli $CLI cli ||
	die "container namespaces failed"
NSINK=bhlog-$$-sink NSRC=bhlog-$$-src NCLI=bhlog-$$-cli
python3 tests/e2e/stub_engine.py "$ENGINE" 2>"$W/engine.log" &
EPID=$!
for _ in $(seq 50); do [ -S "$ENGINE" ] && break; sleep 0.1; done
curl -sf --unix-socket "$ENGINE" -d "[$RECS]" http://stub/stub/load >/dev/null ||
	die "stub engine: $(cat "$W/engine.log")"

mkdir -p "$W/rules"
chmod 755 "$W/rules"
cat >"$W/rules/sink.json" <<'JSON'
{"apiVersion": "bulkhead/v1", "kind": "Policy", "metadata": {"name": "sink-ingress"},
 "spec": {"selector": "app == 'sink'",
          "ingress": [{"action": "allow", "protocol": "tcp",
                       "source": {"selector": "app == 'cli'"},
                       "destination": {"ports": [80]}}]}}
JSON
chmod 644 "$W/rules/sink.json"

# daemon_start ARGS...: bulkheadd on the stub engine, until it knows all three.
daemon_start() {
	local st
	[ -n "$DPID" ] && { kill "$DPID"; wait "$DPID"; } 2>/dev/null
	"$B/bulkheadd" --rules "$W/rules" --control-socket "$SOCK" --state-dir "$W/state" \
		--docker-socket "$ENGINE" --nflog-group $GROUP --foreground "$@" \
		>>"$W/daemon.log" 2>&1 &
	DPID=$!
	for _ in $(seq 100); do
		st=$("$B/bulkhead" -s "$SOCK" -o json status 2>/dev/null) &&
		[ "$(jq '.in_sync and ([.containers[] | select(.endpoints[0].veth != "")] | length) == 3' <<<"$st")" = true ] &&
			return 0
		sleep 0.1
	done
	die "bulkheadd did not reach sync: $(tail -5 "$W/daemon.log")"
}
# counters: "K L", the deny's packets and those its log rule passed.
counters() {
	"$B/bulkhead" -s "$SOCK" -o json status |
		jq -r --arg t "$TAG" '.counters[] | select(.tag == $t) | "\(.packets) \(.logged)"'
}
flood() { # flood PPS COUNT: src -> sink:9999, paced, on FLOOD_CPU
	"${PIN_FLOOD[@]}" ip netns exec "$NSRC" "$B/e2e/udp_burst" -r "$1" $SINK 9999 "$2"
}
# spread FILE: "median min max" of the numbers in FILE, 3 decimals.
spread() {
	sort -g "$1" | awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2;
		printf "%.3f %.3f %.3f\n", m, v[1], v[NR]}'
}
merge() { # merge NAME VALUE GOAL BETTER DETAIL
	[ -s "$JSON" ] || echo '{}' >"$JSON"
	jq --arg n "$1" --argjson v "$2" --argjson g "$3" --arg b "$4" --arg d "$5" \
		'.[$n] = {value: $v, goal: $g, better: $b, detail: $d}' "$JSON" \
		>"$W/bench.json" && cp "$W/bench.json" "$JSON"
}

# ---- log_completeness ----
log_round() { # log_round I: appends "ratio C L K lost overruns sent" to $W/log
	local out=$W/cap$1.json k0 l0 k1 l1 c sum lost ovr line
	read -r k0 l0 <<<"$(counters)"
	# shellcheck disable=SC2086 # LOG_CAPTURE_ARGS: words
	"$B/bulkhead-capture" -g $GROUP -s "$SOCK" -o json -v ${LOG_CAPTURE_ARGS:-} \
		>"$out" 2>"$out.err" &
	CPID=$!
	for _ in $(seq 100); do
		grep -q "kernel counters read at the start" "$out.err" && break
		sleep 0.1
	done
	line=$(flood "$LOG_PPS" $((LOG_PPS * LOG_SECS)))
	sleep 2
	kill -INT "$CPID"; wait "$CPID"; CPID=
	read -r k1 l1 <<<"$(counters)"
	c=$(grep -F '"event":"packet"' "$out" | grep -cF "\"prefix\":\"$TAG\"")
	sum=$(tail -1 "$out")
	lost=$(jq -r 'select(.event == "summary") | .lost' <<<"$sum")
	ovr=$(jq -r 'select(.event == "summary") | .overruns' <<<"$sum")
	[ -n "$lost" ] || die "round $1: no summary from the capture: $(tail -3 "$out.err")"
	echo "  round $1: $line; kernel dropped $((k1 - k0)), logged $((l1 - l0));" \
		"capture wrote $c, lost $lost, overruns $ovr"
	[ $((l1 - l0)) -gt 0 ] || die "round $1: the log rule's counter did not move"
	awk '{sub("/s,", "", $6); print $6}' <<<"$line" >>"$W/log.rate"
	echo "$(awk -v c="$c" -v l=$((l1 - l0)) 'BEGIN {printf "%.4f", c / l}') $c $((l1 - l0)) $((k1 - k0)) $lost $ovr" >>"$W/log"
}
echo "logging: log_completeness, $LOG_ROUNDS rounds of ${LOG_SECS} s at $LOG_PPS denied packets/s"
daemon_start --log-rate 100000000 --log-burst 100000000
flood 10 2 >/dev/null	# resolves the neighbour before the first round
sleep 1
for r in $(seq "$LOG_ROUNDS"); do log_round "$r"; done
cut -d' ' -f1 "$W/log" >"$W/log.ratio"
read -r med min max <<<"$(spread "$W/log.ratio")"
read -r C L K LOST OVR <<<"$(awk '{c+=$2; l+=$3; k+=$4; s+=$5; o+=$6} END {print c, l, k, s, o}' "$W/log")"
short=$((L - C))
echo "log completeness: $med [$min-$max] (records written ÷ log rule's counter; goal 1.000)"
lrate=$(sort -g "$W/log.rate" | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
detail="bulkhead-capture -o json records for the deny's tag ÷ the kernel's counter on its log rule, $LOG_PPS denied UDP packets/s offered (median achieved $lrate/s) for $LOG_SECS s, --log-rate/--log-burst 100000000; median of $LOG_ROUNDS rounds, min $min max $max; in all: $C written of $L logged ($K dropped), shortfall $short, capture reports $LOST lost in the socket and $OVR overruns"
[ "$short" -ne "$LOST" ] && detail="$detail (shortfall and reported losses differ by $((short - LOST)))"
merge log_completeness "$med" 1.000 higher "$detail"

# ---- allowed_cps_under_flood ----
cps() { # cps: cli -> sink:80 for CPS_SECS, prints the rate
	"${PIN_CPS[@]}" ip netns exec "$NCLI" "$B/bench/tcp_crr" client $SINK 80 "$CPS_SECS" |
		awk '{sub("/s,", "", $6); print $6}'
}
# cps_with DST: cps while src sends FLOOD_PPS datagrams to DST:9999 (sink:
# the denied flood; SHAM: the same sender through a veth of its own to a
# namespace without a listener, which drops them: the flood's CPU about
# as busy, nothing reaches the bridge).  Appends the sender's rate to $W/fl and the deny's packets
# to $W/fldrop for the flood.
cps_with() {
	local k0 k1 n
	read -r k0 _ <<<"$(counters)"
	"${PIN_FLOOD[@]}" ip netns exec "$NSRC" "$B/e2e/udp_burst" -r "$FLOOD_PPS" \
		"$1" 9999 $((FLOOD_PPS * (CPS_SECS + 2))) >"$W/flood.out" &
	FPID=$!
	sleep 0.5
	n=$(cps)
	kill -INT "$FPID"; wait "$FPID"; FPID=
	read -r k1 _ <<<"$(counters)"
	if [ "$1" = $SINK ]; then
		awk '{sub("/s,", "", $6); print $6}' "$W/flood.out" >>"$W/fl"
		echo $((k1 - k0)) >>"$W/fldrop"
	fi
	echo "$n"
}
echo
echo "logging: allowed_cps_under_flood, $CPS_ROUNDS rounds of ${CPS_SECS} s, flood $FLOOD_PPS pps"
SHAM=10.98.0.2 NSHAM=bhlog-$$-sham
ip netns add "$NSHAM" && NS+=("$NSHAM") &&
	ip -n "$NSRC" link add sham0 type veth peer name eth0 netns "$NSHAM" &&
	ip -n "$NSRC" addr add 10.98.0.1/24 dev sham0 && ip -n "$NSRC" link set sham0 up &&
	ip -n "$NSHAM" addr add $SHAM/24 dev eth0 && ip -n "$NSHAM" link set eth0 up ||
	die "sham namespace failed"
daemon_start
"${PIN_CPS[@]}" ip netns exec "$NSINK" "$B/bench/tcp_crr" server 80 &
SPID=$!
sleep 0.3
[ "$("${PIN_CPS[@]}" ip netns exec "$NCLI" "$B/bench/tcp_crr" client $SINK 80 0.5 |
	awk '{print $1}')" -gt 0 ] || die "cli cannot connect to sink:80"
: >"$W/cps"; : >"$W/sham"
for r in $(seq "$CPS_ROUNDS"); do
	# quiet, flood, sham; then rotated, so that each comes first in turn.
	for k in $(seq 0 2); do
		case $(( (k + r - 1) % 3 )) in
		0) q=$(cps) ;;
		1) f=$(cps_with $SINK) ;;
		2) h=$(cps_with $SHAM) ;;
		esac
	done
	echo "  round $r: $q conn/s quiet, $f conn/s under the flood, $h with the sham sender"
	awk -v q="$q" -v f="$f" 'BEGIN {printf "%.4f\n", (q > 0 ? f / q : 0)}' >>"$W/cps"
	awk -v h="$h" -v f="$f" 'BEGIN {printf "%.4f\n", (h > 0 ? f / h : 0)}' >>"$W/sham"
done
read -r med min max <<<"$(spread "$W/cps")"
read -r smed smin smax <<<"$(spread "$W/sham")"
frate=$(sort -g "$W/fl" | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
fdrop=$(awk '{s+=$1} END {print s}' "$W/fldrop")
echo "allowed cps under flood: $smed [$smin-$smax] (÷ the sham sender; goal >= 0.9); ÷ no sender at all: $med [$min-$max]"
detail="TCP connections/s from an allowed container to another during a denied UDP flood to the same destination ($FLOOD_PPS pps offered, median achieved $frate/s; $fdrop dropped by the deny in all) ÷ the same sender at the same rate through a veth of its own to a namespace without a listener (its CPU about as busy, nothing reaching the bridge or bulkhead's rules), $CPS_SECS s each, rotated; median of $CPS_ROUNDS rounds, min $smin max $smax; ÷ no sender at all: median $med, min $min max $max (above 1 when the second CPU idles: on this VM an idle CPU slows the other's connections); flood on CPU $FLOOD_CPU, connections on CPU $CPS_CPU; default log limits"
merge allowed_cps_under_flood "$smed" 0.9 higher "$detail"
echo "logging: figures in $JSON"
