#!/bin/bash
# dataplane_test.sh: the policy language enforced on every path, with real
# packets.  One user-defined Docker network with IPv4 and IPv6
# (10.213.77.0/24, fd00:b4:77::/64), a network namespace standing for the
# outside world (198.51.100.2, routed through the host), bulkheadd on a
# rules directory written here.  Each case asserts an allowed and a denied
# probe; denials that matter are also looked up in bulkhead-capture:
#  - container <-> container: TCP, UDP, port ranges "lo:hi", notPorts, a
#    deny policy ordered before an allow;
#  - ICMP by type, a protocol number (253);
#  - CIDR nets with notNets;
#  - IPv6: TCP with ipVersion 6, ICMPv6 echo, neighbour discovery of a
#    container whose egress is restricted;
#  - namespaceSelector on the remote side; entity and namespaceSelector on
#    the local side (a rule that cannot match the selected container);
#  - entity host (container -> host listener, host -> container) and
#    entity world (container -> the world namespace);
#  - a published port from outside and from the host, matched on the
#    container port; hostPorts: two host ports published to one container
#    port, only the listed one allowed (conntrack's original destination
#    port), and a direct connection to that container port denied;
#  - anti-spoofing: a container with NET_ADMIN sends with another
#    container's IP, with a foreign MAC, and a gratuitous ARP claiming
#    another container's IP: dropped and logged as bh|S;
#  - audit mode: a would-deny passes and is logged as bh|A.
# busybox nc has no UDP and no raw IP: those probes run host tools (socat)
# inside the container's network namespace (nsenter -n), which sends from
# the container's own eth0 just the same.
. "$(dirname "$0")/lib.sh"
need_root

GROUP=117
BULKHEADD=${BULKHEADD:-$B/bulkheadd}
NET=bhdp-net
NS=bhdp-world
SUB4=10.213.77
SUB6=fd00:b4:77:
GW4=$SUB4.1
WORLD_HOST=198.51.100.1
WORLD=198.51.100.2
WORLD6_HOST=fd00:b4:99::1
WORLD6=fd00:b4:99::2
W=$(mktemp -d /tmp/bulkhead-dataplane.XXXXXX)
RULES=$W/rules
SOCK=$W/control.sock
mkdir -p "$RULES"
chmod 755 "$W" "$RULES"
DPID=
CPID=
BGPIDS=()

teardown() {
	local p
	for p in "${BGPIDS[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	[ -n "$CPID" ] && kill "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
	"$B/bulkheadd" --flush >/dev/null 2>&1
	cleanup_containers
	docker network rm "$NET" >/dev/null 2>&1
	ip netns del "$NS" 2>/dev/null
	ip link del bhdpw0 2>/dev/null
	[ -n "$KEEP" ] && echo "# kept $W" || rm -rf "$W"
}
trap teardown EXIT

for tool in jq socat nsenter ip; do
	command -v $tool >/dev/null || fail "$tool is not installed"
done
[ "$nfail" -eq 0 ] || { finish; exit 1; }

# ---- the rules ----
cat >"$RULES/10-dataplane.json" <<'JSON'
[
 {"apiVersion": "v1", "kind": "Namespace",
  "metadata": {"name": "team-a", "labels": {"tier": "prod"}}},
 {"apiVersion": "bulkhead/v1", "kind": "Policy",
  "metadata": {"name": "srv-deny-web"},
  "spec": {"selector": "app == 'srv'", "order": 10,
           "ingress": [{"action": "deny", "protocol": "tcp",
                        "source": {"selector": "app == 'web'"},
                        "destination": {"ports": [8001]}}]}},
 {"apiVersion": "bulkhead/v1", "kind": "Policy",
  "metadata": {"name": "srv-in"},
  "spec": {"selector": "app == 'srv'", "order": 100,
   "ingress": [
    {"action": "allow", "protocol": "tcp",
     "source": {"selector": "app in {'cli', 'web', 'eg'}"},
     "destination": {"ports": ["8000:8009"]}},
    {"action": "allow", "protocol": "tcp",
     "destination": {"ports": ["9000:9010"], "notPorts": [9005]}},
    {"action": "allow", "protocol": "udp",
     "source": {"selector": "app == 'cli'"}, "destination": {"ports": [5000]}},
    {"action": "allow", "protocol": "icmp", "icmp": {"type": 8},
     "source": {"selector": "app == 'cli'"}},
    {"action": "allow", "protocol": "icmp", "icmp": {"type": 0},
     "source": {"selector": "app == 'web'"}},
    {"action": "allow", "protocol": 253,
     "source": {"selector": "app == 'cli'"}},
    {"action": "allow", "protocol": "sctp",
     "source": {"selector": "app == 'cli'"}, "destination": {"ports": [9300]}},
    {"action": "allow", "protocol": "tcp",
     "source": {"nets": ["10.213.77.0/24"], "notNets": ["10.213.77.32/28"]},
     "destination": {"ports": [7000]}},
    {"action": "allow", "protocol": "tcp", "ipVersion": 6,
     "source": {"selector": "app in {'cli', 'eg'}"},
     "destination": {"ports": [6000]}},
    {"action": "allow", "protocol": "icmpv6", "icmp": {"type": 128},
     "source": {"selector": "app == 'cli'"}},
    {"action": "allow", "protocol": "tcp",
     "source": {"entity": "host"}, "destination": {"ports": [7100]}},
    {"action": "allow", "protocol": "tcp",
     "source": {"namespaceSelector": "tier == 'prod'"},
     "destination": {"ports": [8200]}},
    {"action": "allow", "protocol": "tcp",
     "destination": {"entity": "host", "ports": [8300]}},
    {"action": "allow", "protocol": "tcp",
     "destination": {"namespaceSelector": "tier == 'prod'", "ports": [8400]}},
    {"action": "allow", "protocol": "tcp",
     "destination": {"namespaceSelector": "kubernetes.io/metadata.name == 'default'",
                     "ports": [8401]}}
   ]}},
 {"apiVersion": "bulkhead/v1", "kind": "Policy",
  "metadata": {"name": "eg-out"},
  "spec": {"selector": "app == 'eg'",
   "egress": [
    {"action": "allow", "protocol": "tcp",
     "destination": {"entity": "host", "ports": [7777]}},
    {"action": "allow", "protocol": "tcp",
     "destination": {"entity": "world", "ports": [7778]}},
    {"action": "allow", "protocol": "tcp",
     "destination": {"selector": "app == 'srv'", "ports": [6000, "8000:8009"]}}
   ]}},
 {"apiVersion": "bulkhead/v1", "kind": "Policy",
  "metadata": {"name": "pub-in"},
  "spec": {"selector": "app == 'pub'",
   "ingress": [
    {"action": "allow", "protocol": "tcp",
     "source": {"entity": "world"}, "destination": {"ports": [80]}},
    {"action": "allow", "protocol": "tcp",
     "source": {"entity": "host"}, "destination": {"ports": [80]}},
    {"action": "allow", "protocol": "tcp", "destination": {"hostPorts": [18081]}}
   ]}},
 {"apiVersion": "bulkhead/v1", "kind": "Policy",
  "metadata": {"name": "aud-audit"},
  "spec": {"selector": "app == 'aud'", "mode": "audit",
   "ingress": [{"action": "allow", "protocol": "tcp",
                "source": {"selector": "app == 'cli'"},
                "destination": {"ports": [80]}}]}}
]
JSON
chmod 644 "$RULES/10-dataplane.json"
if ! "$B/bulkhead" check "$RULES" >"$W/check.out" 2>&1; then
	fail "rules do not check: $(cat "$W/check.out")"
	finish; exit 1
fi

# ---- the world: a namespace routed through the host ----
setup_world() {
	ip netns del "$NS" 2>/dev/null
	ip link del bhdpw0 2>/dev/null
	ip netns add "$NS" &&
	ip link add bhdpw0 type veth peer name bhdpw1 netns "$NS" &&
	ip addr add $WORLD_HOST/24 dev bhdpw0 &&
	ip link set bhdpw0 up &&
	ip -n "$NS" link set lo up &&
	ip -n "$NS" addr add $WORLD/24 dev bhdpw1 &&
	ip -n "$NS" link set bhdpw1 up &&
	ip -n "$NS" route add default via $WORLD_HOST &&
	ip addr add $WORLD6_HOST/64 dev bhdpw0 nodad &&
	ip -n "$NS" addr add $WORLD6/64 dev bhdpw1 nodad &&
	ip -n "$NS" -6 route add default via $WORLD6_HOST
}

# bg CMD...: a helper process killed by the teardown.
bg() { "$@" >>"$W/bg.log" 2>&1 & BGPIDS+=($!); }

# tcp_server WHERE PORT REPLY: a socat TCP server on the host (WHERE "host:ADDR")
# or in the world namespace (WHERE "world").
tcp_server() {
	local where=$1 port=$2 reply=$3
	case $where in
	world) bg ip netns exec "$NS" socat TCP4-LISTEN:$port,reuseaddr,fork SYSTEM:"echo $reply" ;;
	world6) bg ip netns exec "$NS" socat TCP6-LISTEN:$port,ipv6only=1,reuseaddr,fork SYSTEM:"echo $reply" ;;
	host:*) bg socat TCP4-LISTEN:$port,bind=${where#host:},reuseaddr,fork SYSTEM:"echo $reply" ;;
	esac
}

# ctr NAME IP4-SUFFIX LABELS... -- [docker run options] -- CMD: a container on $NET.
ctr() {
	local name=$1 n=$2; shift 2
	local labels=() opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do labels+=(--label "$1"); shift; done
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	docker rm -f "$name" >/dev/null 2>&1
	docker run -d --name "$name" --label "$TLABEL" "${labels[@]}" \
		--network "$NET" --ip "$SUB4.$n" --ip6 "$SUB6:$n" "${opts[@]}" \
		"$IMAGE" "$@" >/dev/null
}

# listeners PORT...: a shell command running one busybox nc server per port,
# each answering "<port>-ok".
listeners() {
	local cmd="" p
	for p in "$@"; do cmd="$cmd nc -ll -p $p -e echo $p-ok &"; done
	echo "$cmd wait"
}

pid_of() { docker inspect -f '{{.State.Pid}}' "$1"; }
mac_of() { docker inspect -f "{{(index .NetworkSettings.Networks \"$NET\").MacAddress}}" "$1"; }

# reply FROM ADDR PORT: what a TCP server answers a container (empty: blocked).
reply() { docker exec "$1" nc -w 1 "$2" "$3" </dev/null 2>/dev/null; }
# host_reply ADDR PORT and world_reply ADDR PORT: the same from the host / the world.
host_reply() { timeout 3 socat -u TCP:$1:$2,connect-timeout=1 STDOUT 2>/dev/null; }
world_reply() { ip netns exec "$NS" timeout 3 socat -u TCP:$1:$2,connect-timeout=1 STDOUT 2>/dev/null; }

# allowed NAME GOT WANT / denied NAME GOT: one PASS or FAIL line.
allowed() { [ "$2" = "$3" ] && pass "allowed: $1" || fail "allowed: $1 got '$2'"; }
denied() { [ -z "$2" ] && pass "denied: $1" || fail "denied: $1 passed ('$2')"; }

# logged NAME JQ-CONDITION: bulkhead-capture shows a record matching it.
# (jq -e would judge by the last record only.)
captured() { jq -c "select($1)" "$W/capture.json" 2>/dev/null | grep -q .; }
logged() {
	if wait_for 4 captured "$2"; then pass "logged: $1"
	else fail "logged: $1 not in the capture ($2)"; fi
}

in_sync() { # in_sync N: the daemon knows N test containers and the kernel is in sync
	local st
	st=$("$B/bulkhead" -s "$SOCK" -o json status) || return 1
	[ "$(jq '.in_sync' <<<"$st")" = true ] &&
	[ "$(jq '[.containers[] | select(.labels["bulkhead.test"] == "1") | select(.endpoints[0].veth != "")] | length' <<<"$st")" -ge "$1" ]
}

# ---- start ----
cleanup_containers
"$B/bulkheadd" --flush >/dev/null 2>&1
docker network rm "$NET" >/dev/null 2>&1
if ! docker network create --ipv6 --subnet $SUB4.0/24 --subnet "$SUB6:/64" \
	--label "$TLABEL" "$NET" >/dev/null; then
	fail "cannot create the IPv6 network $NET"
	finish; exit 1
fi
setup_world || { fail "cannot set up the world namespace"; finish; exit 1; }

ctr srv 10 app=srv -- -- sh -c "$(listeners 6000 7000 7100 8001 8002 8200 8300 8400 8401 9000 9005 9011)"
ctr cli 20 app=cli -- -- sleep 1d
ctr web 30 app=web -- -- sleep 1d
ctr cli2 40 app=cli -- -- sleep 1d
ctr nsa 50 app=nsa bulkhead.namespace=team-a -- -- sleep 1d
ctr nsc 51 app=nsc com.docker.compose.project=team-a -- -- sleep 1d
ctr eg 60 app=eg -- -- sleep 1d
ctr pub 70 app=pub -- -p 18080:80 -p 18081:81 -p 18082:81 -- sh -c "$(listeners 80 81)"
ctr spoof 80 app=spoof -- --cap-add NET_ADMIN -- sleep 1d
ctr free 90 app=free -- -- sh -c "$(listeners 7000)"
ctr aud 100 app=aud -- -- sh -c "$(listeners 80)"
NCTR=11
SRV=$SUB4.10 SRV6=$SUB6:10 PUB=$SUB4.70 FREE=$SUB4.90 AUD=$SUB4.100
SRVPID=$(pid_of srv) CLIPID=$(pid_of cli) WEBPID=$(pid_of web)

# UDP and protocol 253 receivers in srv's namespace, one file each.
for p in 5000 5001; do
	bg nsenter -t "$SRVPID" -n socat -u UDP4-RECV:$p OPEN:"$W/udp$p",creat,append
done
bg nsenter -t "$SRVPID" -n socat -u IP4-RECV:253 OPEN:"$W/p253",creat,append
bg nsenter -t "$SRVPID" -n python3 "$ROOT/tests/e2e/sctp_probe.py" recv 600 "$W/sctp"
for p in 7777 7778; do
	tcp_server host:$GW4 $p host-$p
	tcp_server world $p world-$p
	tcp_server world6 $p world6-$p
done

"$B/bulkhead-capture" -g $GROUP -o json >"$W/capture.json" 2>"$W/capture.err" &
CPID=$!
"$BULKHEADD" --rules "$RULES" --control-socket "$SOCK" --foreground \
	--nflog-group $GROUP -v >>"$W/bulkheadd.log" 2>&1 &
DPID=$!
if wait_for 20 in_sync $NCTR; then pass "daemon knows $NCTR containers and is in sync"
else
	fail "daemon did not reach sync (log: $(tail -5 "$W/bulkheadd.log"))"
	finish; exit 1
fi

# ---- container <-> container, TCP: ranges, notPorts, ordered deny ----
allowed "cli -> srv:8001 (range 8000:8009)" "$(reply cli $SRV 8001)" 8001-ok
allowed "web -> srv:8002 (range 8000:8009)" "$(reply web $SRV 8002)" 8002-ok
denied "web -> srv:8001 (deny policy ordered before the allow)" "$(reply web $SRV 8001)"
logged "web -> srv:8001 denied by srv-deny-web rule 0" \
	".src == \"$SUB4.30\" and .dport == 8001 and .prefix == \"bh|D|I|0|srv-deny-web\""
allowed "cli -> srv:9000 (range 9000:9010)" "$(reply cli $SRV 9000)" 9000-ok
denied "cli -> srv:9005 (notPorts)" "$(reply cli $SRV 9005)"
denied "cli -> srv:9011 (outside the range)" "$(reply cli $SRV 9011)"
logged "cli -> srv:9011 denied by default of srv-deny-web" \
	".src == \"$SUB4.20\" and .dport == 9011 and .prefix == \"bh|D|I|*|srv-deny-web\""

# ---- UDP ----
udp_send() { # udp_send PID ADDR PORT TOKEN
	echo "$4" | nsenter -t "$1" -n socat -u STDIN UDP4-SENDTO:$2:$3
}
udp_send "$CLIPID" $SRV 5000 tok-cli-5000
udp_send "$CLIPID" $SRV 5001 tok-cli-5001
udp_send "$WEBPID" $SRV 5000 tok-web-5000
wait_for 2 grep -q tok-cli-5000 "$W/udp5000"
sleep 0.5
grep -q tok-cli-5000 "$W/udp5000" 2>/dev/null && pass "allowed: UDP cli -> srv:5000" ||
	fail "allowed: UDP cli -> srv:5000 not received"
grep -q tok-cli-5001 "$W/udp5001" 2>/dev/null && fail "denied: UDP cli -> srv:5001 received" ||
	pass "denied: UDP cli -> srv:5001"
grep -q tok-web-5000 "$W/udp5000" 2>/dev/null && fail "denied: UDP web -> srv:5000 received" ||
	pass "denied: UDP web -> srv:5000"
logged "UDP web -> srv:5000" ".proto == \"udp\" and .src == \"$SUB4.30\" and .dport == 5000"

# A flood of denied datagrams with logging on: the log is rate-limited in a
# rule of its own, so every datagram is still dropped.
seq -w 1 1000 | nsenter -t "$CLIPID" -n socat -b5 -u STDIN UDP4-SENDTO:$SRV:5001
sleep 1
nrecv=$(grep -c . "$W/udp5001" 2>/dev/null); nrecv=${nrecv:-0}
nlog=$(jq -c "select(.src == \"$SUB4.20\" and .dport == 5001)" "$W/capture.json" | wc -l)
[ "$nrecv" -eq 0 ] && [ "$nlog" -ge 10 ] && [ "$nlog" -lt 200 ] &&
	pass "flood: 1000 denied datagrams, 0 received, $nlog logged (rate-limited)" ||
	fail "flood: $nrecv of 1000 denied datagrams received, $nlog logged"

# ---- ICMP by type, protocol number ----
ping_ok() { docker exec "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1; }
ping_ok cli $SRV && pass "allowed: ping cli -> srv (icmp type 8)" ||
	fail "allowed: ping cli -> srv failed"
ping_ok web $SRV && fail "denied: ping web -> srv answered (rule allows type 0 only)" ||
	pass "denied: ping web -> srv (rule allows icmp type 0, not 8)"
logged "ping web -> srv" ".proto == \"icmp\" and .src == \"$SUB4.30\" and .dst == \"$SRV\""
echo tok-cli-253 | nsenter -t "$CLIPID" -n socat -u STDIN IP4-SENDTO:$SRV:253
echo tok-web-253 | nsenter -t "$WEBPID" -n socat -u STDIN IP4-SENDTO:$SRV:253
wait_for 2 grep -qa tok-cli-253 "$W/p253"
sleep 0.5
grep -qa tok-cli-253 "$W/p253" 2>/dev/null && pass "allowed: protocol 253 cli -> srv" ||
	fail "allowed: protocol 253 cli -> srv not received"
grep -qa tok-web-253 "$W/p253" 2>/dev/null && fail "denied: protocol 253 web -> srv received" ||
	pass "denied: protocol 253 web -> srv"

# ---- SCTP by port (raw INIT packets: this kernel has no sctp module) ----
sctp_got() { grep -c "^$1 $2\$" "$W/sctp" 2>/dev/null; }
for a in $SRV $SRV6; do
	nsenter -t "$CLIPID" -n python3 "$ROOT/tests/e2e/sctp_probe.py" send $a 40000 9300
	nsenter -t "$CLIPID" -n python3 "$ROOT/tests/e2e/sctp_probe.py" send $a 40001 9301
	nsenter -t "$WEBPID" -n python3 "$ROOT/tests/e2e/sctp_probe.py" send $a 40002 9300
done
wait_for 2 grep -q "^$SUB6:20 9300\$" "$W/sctp"
sleep 0.5
for f in 4 6; do
	[ $f = 4 ] && c=$SUB4.20 w=$SUB4.30 || c=$SUB6:20 w=$SUB6:30
	[ "$(sctp_got $c 9300)" -ge 1 ] && pass "allowed: SCTP/IPv$f cli -> srv:9300" ||
		fail "allowed: SCTP/IPv$f cli -> srv:9300 not received"
	[ "$(sctp_got $c 9301)" = 0 ] && pass "denied: SCTP/IPv$f cli -> srv:9301 (port not allowed)" ||
		fail "denied: SCTP/IPv$f cli -> srv:9301 received"
	[ "$(sctp_got $w 9300)" = 0 ] && pass "denied: SCTP/IPv$f web -> srv:9300 (source not allowed)" ||
		fail "denied: SCTP/IPv$f web -> srv:9300 received"
done
logged "SCTP cli -> srv:9301" ".proto == \"sctp\" and .src == \"$SUB4.20\" and .dport == 9301"

# ---- CIDR with exceptions ----
allowed "cli ($SUB4.20) -> srv:7000 (in nets)" "$(reply cli $SRV 7000)" 7000-ok
denied "cli2 ($SUB4.40) -> srv:7000 (in notNets)" "$(reply cli2 $SRV 7000)"

# ---- IPv6 ----
allowed "IPv6 cli -> [srv]:6000 (ipVersion 6)" "$(reply cli $SRV6 6000)" 6000-ok
denied "IPv6 web -> [srv]:6000" "$(reply web $SRV6 6000)"
logged "IPv6 web -> [srv]:6000" ".src == \"$SUB6:30\" and .dport == 6000"
denied "IPv4 cli -> srv:6000 (rule is ipVersion 6)" "$(reply cli $SRV 6000)"
docker exec cli ping6 -c 1 -W 1 $SRV6 >/dev/null 2>&1 && pass "allowed: ping6 cli -> srv (icmpv6 type 128)" ||
	fail "allowed: ping6 cli -> srv failed"
docker exec web ping6 -c 1 -W 1 $SRV6 >/dev/null 2>&1 && fail "denied: ping6 web -> srv answered" ||
	pass "denied: ping6 web -> srv"
# eg's egress allows only TCP: its neighbour discovery must still work.
allowed "IPv6 eg -> [srv]:6000 (egress-restricted sender resolves its neighbour)" \
	"$(reply eg $SRV6 6000)" 6000-ok

# ---- namespaces ----
allowed "nsa (bulkhead.namespace team-a) -> srv:8200 (namespaceSelector)" "$(reply nsa $SRV 8200)" 8200-ok
allowed "nsc (compose project team-a) -> srv:8200 (namespaceSelector)" "$(reply nsc $SRV 8200)" 8200-ok
denied "cli (namespace default) -> srv:8200" "$(reply cli $SRV 8200)"
denied "cli -> srv:8300 (local side entity host never matches a container)" "$(reply cli $SRV 8300)"
denied "cli -> srv:8400 (local side namespaceSelector: srv is not in team-a)" "$(reply cli $SRV 8400)"
allowed "cli -> srv:8401 (local side namespaceSelector: srv is in default)" "$(reply cli $SRV 8401)" 8401-ok

# ---- entity host and world ----
allowed "eg -> host $GW4:7777 (entity host)" "$(reply eg $GW4 7777)" host-7777
denied "eg -> host $GW4:7778 (host is not world)" "$(reply eg $GW4 7778)"
allowed "eg -> world $WORLD:7778 (entity world)" "$(reply eg $WORLD 7778)" world-7778
denied "eg -> world $WORLD:7777 (world is not host)" "$(reply eg $WORLD 7777)"
logged "eg -> world:7777 denied by eg-out" ".src == \"$SUB4.60\" and .dst == \"$WORLD\" and .prefix == \"bh|D|E|*|eg-out\""
allowed "IPv6 eg -> world [$WORLD6]:7778 (entity world)" "$(reply eg $WORLD6 7778)" world6-7778
denied "IPv6 eg -> world [$WORLD6]:7777 (world is not host)" "$(reply eg $WORLD6 7777)"
logged "IPv6 eg -> world:7777 denied by eg-out" ".src == \"$SUB6:60\" and .dst == \"$WORLD6\" and .prefix == \"bh|D|E|*|eg-out\""
allowed "eg -> srv:8001 (egress selector and srv's ingress)" "$(reply eg $SRV 8001)" 8001-ok
denied "eg -> srv:9000 (srv allows, eg's egress does not)" "$(reply eg $SRV 9000)"
allowed "host -> srv:7100 (entity host)" "$(host_reply $SRV 7100)" 7100-ok
denied "host -> srv:8001 (selector peers are containers only)" "$(host_reply $SRV 8001)"
denied "cli -> srv:7100 (a container is not the host)" "$(reply cli $SRV 7100)"

# ---- published ports ----
allowed "world -> $WORLD_HOST:18080 -> pub:80 (matched on the container port)" \
	"$(world_reply $WORLD_HOST 18080)" 80-ok
allowed "world -> $WORLD_HOST:18081 -> pub:81 (hostPorts 18081)" \
	"$(world_reply $WORLD_HOST 18081)" 81-ok
denied "world -> $WORLD_HOST:18082 -> pub:81 (same container port, host port not in hostPorts)" \
	"$(world_reply $WORLD_HOST 18082)"
logged "world -> :18082 -> pub:81" ".src == \"$WORLD\" and .dst == \"$PUB\" and .dport == 81"
denied "world -> pub:81 directly (not translated: original port 81)" "$(world_reply $PUB 81)"
allowed "host -> 127.0.0.1:18080 (docker-proxy, entity host)" "$(host_reply 127.0.0.1 18080)" 80-ok
denied "host -> 127.0.0.1:18081 (docker-proxy's own connection is to port 81)" \
	"$(host_reply 127.0.0.1 18081)"
denied "cli -> pub:80 (a container is neither host nor world)" "$(reply cli $PUB 80)"
denied "cli -> pub:81 (direct: original port 81, not 18081)" "$(reply cli $PUB 81)"
logged "cli -> pub:81" ".src == \"$SUB4.20\" and .dst == \"$PUB\" and .dport == 81"
if nft list table inet bulkhead 2>/dev/null | grep -q "ct original proto-dst @p[0-9]*_i[0-9]*_dhport"; then
	pass "the kernel holds the hostPorts rule as ct original proto-dst"
else
	fail "no ct original proto-dst rule in table inet bulkhead"
fi

# ---- restarts: new veth, new address ----
# web restarts (new veth); cli comes back on a new address.  Both stay
# classified and the rules follow them.
docker restart -t 0 web >/dev/null
docker network disconnect "$NET" cli >/dev/null &&
	docker network connect --ip $SUB4.21 --ip6 $SUB6:21 "$NET" cli >/dev/null ||
	fail "cannot move cli to $SUB4.21"
moved() { "$B/bulkhead" -s "$SOCK" -o json status | jq -e ".in_sync and ([.containers[] | select(.name == \"cli\") | .endpoints[] | select(.ipv4 == \"$SUB4.21\" and .veth != \"\")] | length == 1) and ([.containers[] | select(.name == \"web\") | .endpoints[0].veth != \"\"] | all)"; }
wait_for 10 moved || fail "daemon did not follow the restarts: $("$B/bulkhead" -s "$SOCK" -o json status | jq -c '.containers[] | select(.name == "cli" or .name == "web") | [.name, .endpoints]')"
allowed "restart: cli on its new address $SUB4.21 -> srv:8001" "$(reply cli $SRV 8001)" 8001-ok
allowed "restart: IPv6 cli on its new address -> [srv]:6000" "$(reply cli $SRV6 6000)" 6000-ok
denied "restart: web (new veth) -> srv:8001" "$(reply web $SRV 8001)"
allowed "restart: web (new veth) -> srv:8002" "$(reply web $SRV 8002)" 8002-ok

# ---- audit mode ----
allowed "audit: web -> aud:80 would be denied and passes" "$(reply web $AUD 80)" 80-ok
logged "audit: web -> aud:80 as a would-deny" \
	".src == \"$SUB4.30\" and .dst == \"$AUD\" and .prefix == \"bh|A|I|*|aud-audit\""
allowed "audit: cli -> aud:80" "$(reply cli $AUD 80)" 80-ok

# ---- anti-spoofing ----
# The container changes its own addresses (busybox ip, NET_ADMIN); busybox
# cannot set a static neighbour, so that is done with iproute2 in its
# namespace: the spoofed packet itself is sent, not only an ARP request.
sx() { docker exec spoof "$@" >/dev/null 2>&1; }
sneigh() { nsenter -t "$(pid_of spoof)" -n ip neigh replace "$1" lladdr "$2" dev eth0 nud permanent; }
SPOOF=$SUB4.80
SRVMAC=$(mac_of srv) FREEMAC=$(mac_of free) SPOOFMAC=$(mac_of spoof)
allowed "spoof -> free:7000 before spoofing" "$(reply spoof $FREE 7000)" 7000-ok
# Claim cli's address towards srv (srv lets cli in on 8001).
sx ip addr add $SUB4.20/32 dev eth0
sneigh $SRV "$SRVMAC"
sx ip route add $SRV/32 dev eth0 src $SUB4.20
denied "spoof as cli ($SUB4.20) -> srv:8001" "$(reply spoof $SRV 8001)"
logged "spoofed IP source from spoof's veth" \
	".src == \"$SUB4.20\" and .dport == 8001 and (.prefix | startswith(\"bh|S|\"))"
sx ip route del $SRV/32
sx ip addr del $SUB4.20/32 dev eth0
# A foreign MAC with the container's own address.
# (a new MAC flushes the neighbour table, static entries too)
sx ip link set eth0 address 02:42:0a:d5:4d:ee
sneigh $FREE "$FREEMAC"
denied "spoof with a foreign MAC -> free:7000" "$(reply spoof $FREE 7000)"
logged "spoofed MAC from spoof's veth" \
	".src == \"$SPOOF\" and .dport == 7000 and (.prefix | startswith(\"bh|S|\"))"
sx ip link set eth0 address "$SPOOFMAC"
allowed "spoof -> free:7000 after restoring its MAC" "$(reply spoof $FREE 7000)" 7000-ok
# ARP: claim srv's address in a gratuitous ARP; free's entry must keep srv's MAC.
docker exec free ping -c 1 -W 1 $SRV >/dev/null 2>&1
sleep 1.2	# past the neighbour locktime, when a gratuitous ARP would override
sx ip addr add $SRV/32 dev eth0
docker exec spoof arping -U -c 2 -w 2 -I eth0 -s $SRV $SRV >/dev/null 2>&1
sx ip addr del $SRV/32 dev eth0
got=$(docker exec free ip neigh show $SRV | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}')
[ "$got" = "$SRVMAC" ] && pass "ARP spoof: free still maps $SRV to srv's MAC" ||
	fail "ARP spoof: free maps $SRV to '$got' (srv is $SRVMAC, spoof $SPOOFMAC)"
logged "ARP spoof" ".ethertype == 2054 and (.prefix | startswith(\"bh|S|\")) and .physindev != null"

# IPv6 neighbour discovery: spoof advertises srv's address as its own
# (an unsolicited NA with override, from its own global address, which the
# address check alone lets through), then sends a router advertisement
# from its link-local address.  free must keep srv's MAC and get no route
# or address from spoof.  (Both succeed on this kernel without bulkhead.)
cat >"$W/nd.py" <<'PY'
# nd.py KIND SRC TARGET MAC: an unsolicited neighbour advertisement (na:
# TARGET is at MAC, override) or a router advertisement (ra: default router,
# prefix 2001:db8:bad::/64) to all nodes on eth0, hop limit 255.
import socket, struct, sys
kind, src, target, mac = sys.argv[1:5]
ifi = socket.if_nametoindex("eth0")
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifi)
s.bind((src, 0, 0, ifi if src.startswith("fe80") else 0))
hw = bytes.fromhex(mac.replace(":", ""))
if kind == "na":
    msg = struct.pack("!BBHI", 136, 0, 0, 0x20000000) + \
        socket.inet_pton(socket.AF_INET6, target) + struct.pack("!BB", 2, 1) + hw
else:
    msg = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0) + \
        struct.pack("!BBBBIII", 3, 4, 64, 0xc0, 3600, 1800, 0) + \
        socket.inet_pton(socket.AF_INET6, "2001:db8:bad::") + \
        struct.pack("!BB", 1, 1) + hw
for _ in range(2):
    s.sendto(msg, ("ff02::1", 0, 0, ifi))
PY
neigh6() { docker exec free ip -6 neigh show "$1" | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}'; }
docker exec free ping6 -c 1 -W 1 $SRV6 >/dev/null 2>&1	# free learns srv's MAC
if [ "$(neigh6 $SRV6)" != "$SRVMAC" ]; then
	fail "ND spoof: free did not resolve $SRV6 first (got '$(neigh6 $SRV6)')"
else
	nsenter -t "$(pid_of spoof)" -n python3 "$W/nd.py" na $SUB6:80 $SRV6 "$SPOOFMAC" 2>"$W/nd.err" ||
		fail "ND spoof: could not send: $(cat "$W/nd.err")"
	sleep 0.5
	got=$(neigh6 $SRV6)
	[ "$got" = "$SRVMAC" ] && pass "ND spoof: free still maps $SRV6 to srv's MAC" ||
		fail "ND spoof: free maps $SRV6 to '$got' (srv is $SRVMAC, spoof $SPOOFMAC)"
fi
logged "ND spoof (neighbour advertisement for srv's address)" \
	".src == \"$SUB6:80\" and .prefix == \"bh|S|E|*|nd-spoof\""
SPOOFLL=$(docker exec spoof ip -6 addr show dev eth0 scope link | awk '/inet6/ {print $2}' | cut -d/ -f1)
# The same for srv's link-local address: free resolves it (srv's own NA
# for its EUI-64 link-local address passes), then spoof claims it.
SRVLL=$(docker exec srv ip -6 addr show dev eth0 scope link | awk '/inet6/ {print $2}' | cut -d/ -f1)
docker exec free ping6 -c 1 -W 1 -I eth0 "$SRVLL" >/dev/null 2>&1 &&
	pass "link-local: free -> srv's $SRVLL (srv's own advertisement passes)" ||
	fail "link-local: free cannot reach srv's $SRVLL"
nsenter -t "$(pid_of spoof)" -n python3 "$W/nd.py" na "$SPOOFLL" "$SRVLL" "$SPOOFMAC" 2>"$W/nd.err" ||
	fail "ND spoof (link-local): could not send: $(cat "$W/nd.err")"
sleep 0.5
got=$(neigh6 "$SRVLL")
[ "$got" = "$SRVMAC" ] && pass "ND spoof (link-local): free still maps $SRVLL to srv's MAC" ||
	fail "ND spoof (link-local): free maps $SRVLL to '$got' (srv is $SRVMAC, spoof $SPOOFMAC)"
logged "ND spoof (neighbour advertisement for srv's link-local address)" \
	".src == \"$SPOOFLL\" and .prefix == \"bh|S|E|*|nd-spoof\""
nsenter -t "$(pid_of spoof)" -n python3 "$W/nd.py" ra "$SPOOFLL" - "$SPOOFMAC" 2>"$W/nd.err" ||
	fail "RA: could not send: $(cat "$W/nd.err")"
sleep 0.5
if docker exec free ip -6 route | grep -q "$SPOOFLL\|2001:db8:bad"; then
	fail "RA: free took a route from spoof: $(docker exec free ip -6 route | grep "$SPOOFLL\|2001:db8:bad")"
else
	pass "RA: free took no route or prefix from spoof's router advertisement"
fi
logged "router advertisement from a container" ".prefix == \"bh|S|E|*|router-advert\""
check "nft lists the whole ruleset with our tables in it" nft list ruleset

# Every container was classified all along: neighbour discovery (DAD from
# ::, after the MAC change above) is not mistaken for an unknown container.
captured '.prefix | startswith("bh|P|")' &&
	fail "classified containers logged as unclassified: $(jq -c 'select(.prefix | startswith("bh|P|")) | [.src, .dst, .proto, .icmp_type]' "$W/capture.json" | sort | uniq -c | head -3)" ||
	pass "no classified container logged as unclassified (bh|P)"

kill "$DPID"; wait "$DPID" 2>/dev/null; DPID=
patches_agree "$W/bulkheadd.log"
finish
