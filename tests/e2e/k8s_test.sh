#!/bin/bash
# k8s_test.sh: Kubernetes NetworkPolicy conformance in the manner of the
# upstream network-policy e2e tests.  Namespaces x, y, z (Namespace objects
# labelled ns=x ...), pods a, b, c in each as Docker containers on one
# user-defined network (labels pod=a, bulkhead.namespace=x, named ports),
# TCP servers on 80 and 81 (busybox nc in the container), UDP servers on 80
# and 81 (perl in the container's network namespace).  For each case of
# tests/k8s/cases, in order (so consecutive cases are policy updates, and
# the last deletes them all), the rules directory is replaced, bulkheadd
# reloads, every ordered pair is probed on tcp/80, tcp/81, udp/80, udp/81
# in parallel (and the host, the pods' node, both ways: always allowed),
# and the observed table must be the case's expected.txt
# (written by hand from the Kubernetes semantics; the unit test checks the
# evaluator against the same files).  On a difference both tables print.
. "$(dirname "$0")/lib.sh"
need_root

CASES=$ROOT/tests/k8s/cases
GROUP=103
NET=bhk8s-net
SUBNET=172.31.77
HOSTPORT=18081
PODS="xa xb xc ya yb yc za zb zc"
PROBES="tcp/80 tcp/81 udp/80 udp/81"
W=$(mktemp -d /tmp/bulkhead-k8s.XXXXXX)
RULES=$W/rules
SOCK=$W/control.sock
mkdir -p "$RULES" "$W/obs"
chmod 755 "$W" "$RULES"
DPID=
NREPROBED=0
SERVERS=()
declare -A PID IP

teardown() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	for p in "${SERVERS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	"$B/bulkheadd" --flush >/dev/null 2>&1
	cleanup_containers
	docker network rm "$NET" >/dev/null 2>&1
	rm -rf "$W"
}
trap teardown EXIT

# A UDP server answering every datagram with "ok" (perl-base is essential).
UDP_ECHO='$s = IO::Socket::INET->new(LocalPort => shift, Proto => "udp")
	or die "udp server: $!";
while (1) { defined($s->recv(my $m, 512)) and $s->send("ok\n"); }'

# The pods: bhk-xa ... bhk-zc at 172.31.77.<ns><pod>.
start_pods() {
	local p ns pod
	docker network rm "$NET" >/dev/null 2>&1
	docker network create --subnet "$SUBNET.0/24" "$NET" >/dev/null ||
		{ fail "cannot create network $NET ($SUBNET.0/24)"; return 1; }
	for p in $PODS; do
		ns=${p:0:1} pod=${p:1:1}
		IP[$p]=$SUBNET.$(( $(printf %d "'$ns") - 119 ))$(( $(printf %d "'$pod") - 96 ))
		docker rm -f "bhk-$p" >/dev/null 2>&1
		docker run -d --name "bhk-$p" --network "$NET" --ip "${IP[$p]}" \
			--label "$TLABEL" --label "pod=$pod" \
			--label "bulkhead.namespace=$ns" \
			--label "bulkhead.port.serve-80-tcp=80/TCP" \
			--label "bulkhead.port.serve-81-tcp=81/TCP" \
			--label "bulkhead.port.serve-80-udp=80/UDP" \
			--label "bulkhead.port.serve-81-udp=81/UDP" \
			"$IMAGE" sh -c 'nc -ll -p 80 -e echo ok & nc -ll -p 81 -e echo ok & wait' \
			>/dev/null || { fail "cannot start bhk-$p"; return 1; }
		PID[$p]=$(docker inspect -f '{{.State.Pid}}' "bhk-$p")
	done
	# The node: a TCP server of the host on the network's gateway address.
	socat TCP4-LISTEN:$HOSTPORT,bind=$SUBNET.1,fork,reuseaddr SYSTEM:'echo ok' \
		2>>"$W/servers.err" &
	SERVERS+=($!)
	for p in $PODS; do
		for port in 80 81; do
			nsenter -t "${PID[$p]}" -n perl -MIO::Socket::INET -e "$UDP_ECHO" \
				"$port" 2>>"$W/servers.err" &
			SERVERS+=($!)
		done
	done
	# The first case must not race the servers' start (18 perl and 18 nc on
	# a loaded 2-core machine): every listener is up before any probe.
	wait_for 60 servers_ready ||
		{ fail "servers not listening after 60 s: $(servers_missing)"; return 1; }
}

# servers_missing: the listeners not up yet, as POD:PROTO/PORT words.
servers_missing() {
	local p l s miss=
	for p in $PODS; do
		l=$(nsenter -t "${PID[$p]}" -n ss -Hlntu 2>/dev/null)
		for s in tcp/80 tcp/81 udp/80 udp/81; do
			grep -Eq "^${s%/*} .*:${s#*/} " <<<"$l" || miss+=" $p:$s"
		done
	done
	ss -Hlnt | grep -q "$SUBNET.1:$HOSTPORT " || miss+=" host:tcp/$HOSTPORT"
	echo "$miss"
}
servers_ready() { [ -z "$(servers_missing)" ]; }

# probe SRC DST PROTO/PORT: writes . (connected) or X to obs/PROTO_PORT_SRC_DST.
probe() {
	local src=$1 dst=$2 proto=${3%/*} port=${3#*/} out
	if [ "$proto" = tcp ]; then
		nsenter -t "${PID[$src]}" -n nc -z -w 1 "${IP[$dst]}" "$port" \
			>/dev/null 2>&1 && out=. || out=X
	else
		out=$(echo ping | timeout 3 nsenter -t "${PID[$src]}" -n \
			socat -t 1.5 -T 1.5 - "UDP4:${IP[$dst]}:$port" 2>/dev/null)
		[ "$out" = ok ] && out=. || out=X
	fi
	echo "$out" >"$W/obs/${proto}_${port}_${src}_${dst}"
}

# observed PROBE: the table of the last probe_all, rows by source.
observed() {
	local p=${1/\//_} s d row
	for s in $PODS; do
		row=$s
		for d in $PODS; do
			if [ "$s" = "$d" ]; then row+=" ."
			else row+=" $(cat "$W/obs/${p}_${s}_${d}" 2>/dev/null || echo '?')"; fi
		done
		echo "$row"
	done
}

# Kubernetes: traffic between a pod and its node is always allowed.  The
# node is the Docker host: host -> pod:80 and pod -> host:$HOSTPORT.
probe_node() {
	local p pids=()
	for p in $PODS; do
		( nc -z -w 1 "${IP[$p]}" 80 >/dev/null 2>&1 && echo . || echo X ) \
			>"$W/obs/node_to_$p" &
		pids+=($!)
		( nsenter -t "${PID[$p]}" -n nc -z -w 1 "$SUBNET.1" $HOSTPORT \
			>/dev/null 2>&1 && echo . || echo X ) >"$W/obs/node_from_$p" &
		pids+=($!)
	done
	wait "${pids[@]}"
}

node_row() { # node_row to|from: one line, a cell per pod
	local p row="node-$1"
	for p in $PODS; do row+=" $(cat "$W/obs/node_${1}_$p" 2>/dev/null || echo '?')"; done
	echo "$row"
}

probe_all() {
	local pr s d pids=()
	rm -f "$W/obs/"*
	probe_node &
	pids+=($!)
	for pr in $PROBES; do
		for s in $PODS; do
			for d in $PODS; do
				[ "$s" = "$d" ] && continue
				probe "$s" "$d" "$pr" &
				pids+=($!)
			done
		done
	done
	wait "${pids[@]}"
}

# Probes once more, in parallel, the cells that differ from the case's
# table: a probe starved of CPU on a loaded host must not fail a case, and
# a real difference shows twice.
reprobe_mismatches() {
	local dir=$1 pr s d i j want got pids=() exp
	for pr in $PROBES; do
		mapfile -t exp < <(expected "$dir" "$pr")
		i=0
		for s in $PODS; do
			read -r -a want <<<"${exp[$i]}"
			j=1
			for d in $PODS; do
				got=$(cat "$W/obs/${pr/\//_}_${s}_${d}" 2>/dev/null || echo .)
				if [ "$s" != "$d" ] && [ "$got" != "${want[$j]}" ]; then
					probe "$s" "$d" "$pr" &
					pids+=($!)
				fi
				j=$((j + 1))
			done
			i=$((i + 1))
		done
	done
	# The node is always allowed: a node cell that failed is probed again too.
	for s in $PODS; do
		if [ "$(cat "$W/obs/node_to_$s" 2>/dev/null)" != . ]; then
			( nc -z -w 1 "${IP[$s]}" 80 >/dev/null 2>&1 && echo . || echo X ) \
				>"$W/obs/node_to_$s" &
			pids+=($!)
		fi
		if [ "$(cat "$W/obs/node_from_$s" 2>/dev/null)" != . ]; then
			( nsenter -t "${PID[$s]}" -n nc -z -w 1 "$SUBNET.1" $HOSTPORT \
				>/dev/null 2>&1 && echo . || echo X ) >"$W/obs/node_from_$s" &
			pids+=($!)
		fi
	done
	[ ${#pids[@]} -gt 0 ] && wait "${pids[@]}"
	NREPROBED=$((NREPROBED + ${#pids[@]}))
}

# expected CASE PROBE: the case's table for one probe, rows by source.
expected() {
	awk -v want="$2" '
		/^#/ || /^[ \t]*$/ { next }
		/^(tcp|udp)\// { on = 0; for (i = 1; i <= NF; i++) if ($i == want) on = 1; next }
		/^ / { next }
		on { print }' "$1/expected.txt"
}

print_table() { # print_table TITLE < rows
	echo "    $1"
	echo "       xa xb xc ya yb yc za zb zc"
	sed 's/^\(..\) /    \1  /; s/ \([.X?]\)/  \1/g'
}

load_case() { # load_case DIR: the rules directory becomes exactly the case's
	rm -f "$RULES"/*.json
	cp "$1"/*.json "$RULES"/ 2>/dev/null
	cp "$ROOT/tests/k8s/namespaces.json" "$RULES/"
	chmod 644 "$RULES"/*.json
}

generation() { "$B/bulkhead" -s "$SOCK" -o json status | jq '.generation'; }

in_sync() { # in_sync N: N test containers known with veths, kernel in sync
	local st
	st=$("$B/bulkhead" -s "$SOCK" -o json status) || return 1
	[ "$(jq '.in_sync' <<<"$st")" = true ] &&
	[ "$(jq '[.containers[] | select(.labels["bulkhead.test"] == "1") | select(.endpoints[0].veth != "")] | length' <<<"$st")" -ge "$1" ]
}

run_case() { # run_case DIR [hup]
	local dir=$1 name pr exp obs bad=0 gen
	name=$(basename "$dir")
	load_case "$dir"
	if [ "$2" = hup ]; then
		gen=$(generation)
		kill -HUP "$DPID"
		if ! wait_for 10 test "$(generation)" -gt "$gen" || ! wait_for 10 in_sync 9; then
			fail "$name: SIGHUP reload not applied ($(tail -3 "$W/bulkheadd.log"))"
			return
		fi
	elif ! "$B/bulkhead" -s "$SOCK" reload >"$W/reload.out" 2>&1; then
		fail "$name: reload refused: $(head -3 "$W/reload.out")"
		return
	fi
	probe_all
	reprobe_mismatches "$dir"
	for pr in $PROBES; do
		exp=$(expected "$dir" "$pr")
		obs=$(observed "$pr")
		[ "$exp" = "$obs" ] && continue
		bad=1
		echo "# $name $pr: observed differs from expected ($(head -1 "$dir/expected.txt"))"
		print_table "expected $pr:" <<<"$exp"
		print_table "observed $pr:" <<<"$obs"
	done
	for pr in to from; do
		obs=$(node_row $pr)
		[ "$obs" = "node-$pr . . . . . . . . ." ] && continue
		bad=1
		echo "# $name: the node (host) must always reach the pods and be reached: $pr: $obs"
	done
	if [ $bad -eq 0 ]; then pass "$name: 4 x 72 pod probes and 18 node probes as Kubernetes specifies"
	else fail "$name: truth table differs"; fi
}

t0=$(date +%s)
cleanup_containers
"$B/bulkheadd" --flush >/dev/null 2>&1
if ! start_pods; then finish; exit 1; fi
load_case "$CASES/00-no-policy"
"$B/bulkheadd" --rules "$RULES" --control-socket "$SOCK" --foreground \
	--nflog-group $GROUP -v >>"$W/bulkheadd.log" 2>&1 &
DPID=$!
if wait_for 30 in_sync 9; then pass "daemon knows the 9 pods and is in sync"
else fail "daemon did not reach sync (log: $(tail -5 "$W/bulkheadd.log"))"; finish; exit 1; fi

last=$(ls -d "$CASES"/*/ | tail -1)
for dir in "$CASES"/*/; do
	dir=${dir%/}
	# The last case (all policies deleted) reloads by SIGHUP.
	if [ "$dir/" = "$last" ]; then run_case "$dir" hup; else run_case "$dir"; fi
done
echo "# k8s_test: $(ls -d "$CASES"/*/ | wc -l) cases in $(( $(date +%s) - t0 )) s, $NREPROBED probes repeated"
finish
