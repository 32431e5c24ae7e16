#!/bin/bash
# audit_test.sh: bulkhead audit against a running bulkheadd and real
# containers: one on --network host, one --privileged, one with
# --cap-add NET_ADMIN, one with --cap-add ALL, one publishing ports no
# policy restricts (on all addresses and on 127.0.0.1), one sharing that
# one's network namespace, one whose published port a policy opens to the
# world, and one clean container selected by a policy.  Each finding
# appears in the text and the JSON with its severity; the clean one has
# none, nor has a published port its policy closes; an unmanaged bridge made here is reported, Docker's are not;
# br_netfilter's state is what /proc says (also after
# bridge-nf-call-ip6tables is turned off for a moment); the firewall
# backend is the engine's; a quarantined container's open port is info;
# exit 1 while a high finding stands, 0 once the containers behind them
# are gone.
# Run as root holding the lock: flock /tmp/bulkhead-e2e.lock bash tests/e2e/audit_test.sh
. "$(dirname "$0")/lib.sh"
need_root

GROUP=119
# BULKHEADD: the daemon binary under test (a sanitized one, say).
BULKHEADD=${BULKHEADD:-$B/bulkheadd}
W=$(mktemp -d /tmp/bulkhead-audit.XXXXXX)
RULES=$W/rules SOCK=$W/control.sock
mkdir -p "$RULES"
chmod 755 "$W" "$RULES"
DPID=
BR=bhaudit0 VETH=bhauditv0
NF6=/proc/sys/net/bridge/bridge-nf-call-ip6tables
NF6_SAVED=

teardown() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	[ -n "$KEEP_LOG" ] && cp "$W/bulkheadd.log" "$KEEP_LOG"
	[ -n "$NF6_SAVED" ] && echo "$NF6_SAVED" >"$NF6"
	ip link del "$VETH" 2>/dev/null
	ip link del "$BR" 2>/dev/null
	"$B/bulkheadd" --flush >/dev/null 2>&1
	cleanup_containers
	rm -rf "$W"
}
trap teardown EXIT

bh() { "$B/bulkhead" -s "$SOCK" "$@"; }
known() { # known NAME...: the daemon lists every one of them
	local st n
	st=$(bh -o json status) || return 1
	[ "$(jq '.in_sync' <<<"$st")" = true ] || return 1
	for n in "$@"; do
		jq -e --arg n "$n" '.containers[] | select(.name == $n)' <<<"$st" >/dev/null || return 1
	done
}
# sev_of NAME KIND [FIELD VALUE]: the severity of that finding in $J ("" when absent)
sev_of() {
	jq -r --arg c "$1" --arg k "$2" --arg f "${3:-kind}" --arg v "${4:-$2}" \
	    '[.findings[] | select(.object == $c and .kind == $k and .[$f] == $v) | .severity] | first // ""' <<<"$J"
}
expect() { # expect NAME KIND SEVERITY [FIELD VALUE]: in the JSON and in the text
	local s
	s=$(sev_of "$1" "$2" "$4" "$5")
	[ "$s" = "$3" ] && pass "json: $1 $2 is $3${5:+ ($5)}" ||
		fail "json: $1 $2: expected $3, found '${s}'"
	grep -qE "^$(tr a-z A-Z <<<"$3") +$2 +$1: " <<<"$T" &&
		pass "text: $1 $2 line" || fail "text: no $3 $2 line for $1"
}

cleanup_containers
"$B/bulkheadd" --flush >/dev/null 2>&1
ip link del "$VETH" 2>/dev/null; ip link del "$BR" 2>/dev/null

cat >"$RULES/10-audit.json" <<'JSON'
[
 {"apiVersion": "bulkhead/v1", "kind": "Policy", "metadata": {"name": "clean-in"},
  "spec": {"selector": "app == 'clean'",
           "ingress": [{"action": "allow", "protocol": "tcp",
                        "source": {"selector": "app == 'web'"},
                        "destination": {"ports": [80]}}]}},
 {"apiVersion": "bulkhead/v1", "kind": "Policy", "metadata": {"name": "pub-world"},
  "spec": {"selector": "app == 'pub'",
           "ingress": [{"action": "allow", "protocol": "tcp",
                        "source": {"entity": "world"},
                        "destination": {"ports": [80]}}]}}
]
JSON
chmod 644 "$RULES/10-audit.json"

docker_rm bha-share bha-host bha-priv bha-admin bha-all bha-ports bha-pub bha-clean
docker run -d --name bha-host --label "$TLABEL" --network host "$IMAGE" sleep 1d >/dev/null
docker run -d --name bha-admin --label "$TLABEL" --cap-add NET_ADMIN "$IMAGE" sleep 1d >/dev/null
# ALL but the one capability this machine's bounding set may lack.
docker run -d --name bha-all --label "$TLABEL" --cap-add ALL --cap-drop SYS_RESOURCE \
	"$IMAGE" sleep 1d >/dev/null
docker run -d --name bha-ports --label "$TLABEL" -p 80 -p 127.0.0.1::81 -p 53/udp \
	"$IMAGE" sleep 1d >/dev/null
docker run -d --name bha-share --label "$TLABEL" --network container:bha-ports \
	"$IMAGE" sleep 1d >/dev/null
docker run -d --name bha-pub --label "$TLABEL" --label app=pub -p 80 -p 8080 \
	"$IMAGE" sleep 1d >/dev/null
docker run -d --name bha-clean --label "$TLABEL" --label app=clean -p 80 \
	"$IMAGE" sleep 1d >/dev/null
# --privileged: an engine whose capability bounding set lacks one cannot
# start it (runc: "unable to apply caps"); then this check is not run.
PRIV=bha-priv
if ! docker run -d --name bha-priv --label "$TLABEL" --privileged "$IMAGE" sleep 1d \
    >/dev/null 2>"$W/priv.err"; then
	echo "# not run: --privileged container: the engine cannot start one here: $(grep -m1 -o 'unable to apply caps[^:]*: [a-z ]*' "$W/priv.err")"
	echo "# (CapBnd $(awk '/CapBnd/ {print $2}' /proc/self/status))"
	docker_rm bha-priv
	PRIV=
fi
# A bridge of nobody's, with one port.
ip link add "$BR" type bridge && ip link add "$VETH" type veth peer name "${VETH%0}1" &&
	ip link set "$VETH" master "$BR" || fail "cannot make bridge $BR"

"$BULKHEADD" --rules "$RULES" --control-socket "$SOCK" --state-dir "$W/state" \
	--foreground --nflog-group $GROUP -v >>"$W/bulkheadd.log" 2>&1 &
DPID=$!
wait_for 30 known bha-host bha-admin bha-all bha-ports bha-share bha-pub bha-clean $PRIV &&
	pass "daemon knows every test container" ||
	fail "daemon does not know them all: $(tail -3 "$W/bulkheadd.log")"

t0=$(date +%s%N)
J=$(bh -o json audit); rc=$?
echo "# audit answered in $(( ($(date +%s%N) - t0) / 1000000 )) ms ($(jq '.containers' <<<"$J") containers, $(jq '.host.bridges | length' <<<"$J") bridges)"
T=$(bh audit); trc=$?
sed 's/^/# /' <<<"$T"
[ $rc -eq 1 ] && [ $trc -eq 1 ] && pass "exit 1 with high findings (json and text)" ||
	fail "exit: json $rc, text $trc, expected 1"
jq -e '.ok == true and (.findings | length) > 0 and .summary.high > 0' <<<"$J" >/dev/null &&
	pass "json: ok, findings, summary" || fail "json: malformed answer: $(head -c 300 <<<"$J")"
[ "$(jq '.containers' <<<"$J")" = "$(bh -o json status | jq '.containers | length')" ] &&
	pass "json: container count is the inventory's" || fail "json: container count"
grep -qE '^audit: [0-9]+ high, [0-9]+ medium, [0-9]+ info' <<<"$T" &&
	pass "text: summary line" || fail "text: no summary line: $(head -1 <<<"$T")"
# High findings come first.
jq -e '[.findings[].severity] as $s | $s == ([$s[] | select(. == "high")] + [$s[] | select(. == "medium")] + [$s[] | select(. == "info")])' <<<"$J" >/dev/null &&
	pass "json: ordered high, medium, info" || fail "json: findings not ordered by severity"

expect bha-host host-network high
expect bha-admin cap-net-admin high
[ -z "$(sev_of bha-admin cap-net-raw)" ] && pass "json: bha-admin has no cap-net-raw (not added)" ||
	fail "json: bha-admin reported with cap-net-raw"
expect bha-all cap-net-admin high
expect bha-all cap-net-raw medium
expect bha-share shared-netns medium
expect bha-ports published-port-open high port 80/tcp
expect bha-ports published-port-open high port 53/udp
expect bha-ports published-port-open medium port 81/tcp
expect bha-pub published-port-open medium port 80/tcp
[ "$(jq -r '.findings[] | select(.object == "bha-pub" and .port == "80/tcp") | .policy' <<<"$J")" = pub-world ] &&
	pass "json: bha-pub 80/tcp names the policy that opens it" || fail "json: bha-pub policy"
[ -z "$(sev_of bha-pub published-port-open port 8080/tcp)" ] &&
	pass "json: bha-pub 8080/tcp, which its policy closes, is not reported" ||
	fail "json: bha-pub 8080/tcp reported though its policy closes it"
if [ -n "$PRIV" ]; then
	expect bha-priv privileged high
fi
n=$(jq '[.findings[] | select(.object == "bha-clean")] | length' <<<"$J")
[ "$n" = 0 ] && pass "json: the clean container has no finding" ||
	fail "json: the clean container has $n findings"
grep -q 'bha-clean' <<<"$T" && fail "text: the clean container is named" ||
	pass "text: the clean container is not named"
# The host port the ports container got, in the explanation.
hp=$(docker port bha-ports 80/tcp | head -1 | sed 's/.*://')
jq -e --arg hp ":$hp" '.findings[] | select(.object == "bha-ports" and .port == "80/tcp") | .explanation | contains($hp)' <<<"$J" >/dev/null &&
	pass "json: the explanation names host port $hp" || fail "json: host port $hp not in the explanation"

# Bridges: ours is unmanaged, Docker's are not.
expect "$BR" unmanaged-bridge medium
[ -z "$(sev_of docker0 unmanaged-bridge)" ] && pass "json: docker0 is not unmanaged" ||
	fail "json: docker0 reported as unmanaged"
jq -e --arg b "$BR" '.host.bridges[] | select(.name == $b and .ports == 1 and .docker == false)' <<<"$J" >/dev/null &&
	pass "json: host bridges list $BR with its port" || fail "json: $BR not in host.bridges"
jq -e '.host.bridges[] | select(.name == "docker0" and .docker == true and .containers >= 1)' <<<"$J" >/dev/null &&
	pass "json: docker0 is Docker's and holds containers" || fail "json: docker0 facts"

# br_netfilter as /proc says, then with bridge-nf-call-ip6tables off.
nf4=$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null)
nf6=$(cat "$NF6" 2>/dev/null)
if [ "$nf4" = 1 ] && [ "$nf6" = 1 ]; then
	expect host br-netfilter info
	jq -e '.host.br_netfilter == true and .host.bridge_nf_call_iptables == 1 and .host.bridge_nf_call_ip6tables == 1' <<<"$J" >/dev/null &&
		pass "json: host br_netfilter facts" || fail "json: host br_netfilter facts: $(jq -c .host <<<"$J")"
	NF6_SAVED=1
	echo 0 >"$NF6"
	J2=$(bh -o json audit)
	echo 1 >"$NF6"; NF6_SAVED=
	jq -e '.host.bridge_nf_call_ip6tables == 0 and ([.findings[] | select(.kind == "br-netfilter" and .severity == "medium") | .explanation | contains("ip6tables is 0")] | any)' <<<"$J2" >/dev/null &&
		pass "json: bridge-nf-call-ip6tables=0 is a medium finding" ||
		fail "json: ip6tables=0 not reported: $(jq -c '[.findings[] | select(.kind == "br-netfilter")]' <<<"$J2")"
else
	fail "br_netfilter is not active here (bridge-nf-call-iptables=$nf4, -ip6tables=$nf6): run tools/docker-up.sh"
fi

# Docker's firewall backend, as the engine tells it.
fb=$(curl -s --unix-socket /var/run/docker.sock http://localhost/info | jq -r '.FirewallBackend.Driver // ""')
ver=$(docker version --format '{{.Server.Version}}')
[ "$(jq -r '.host.docker_version' <<<"$J")" = "$ver" ] && pass "json: docker version $ver" ||
	fail "json: docker version $(jq -r '.host.docker_version' <<<"$J"), engine says $ver"
if [ -z "$fb" ]; then
	[ "$(jq -r '.host.firewall_backend' <<<"$J")" = null ] && pass "json: firewall backend not reported by engine $ver" ||
		fail "json: firewall backend $(jq -r '.host.firewall_backend' <<<"$J") invented"
	expect docker firewall-backend info
else
	[ "$(jq -r '.host.firewall_backend' <<<"$J")" = "$fb" ] && pass "json: firewall backend $fb" ||
		fail "json: firewall backend, engine says $fb"
fi

# Quarantined: the open ports are info; on the host network it has no effect.
bh quarantine bha-ports --reason audit >/dev/null && bh quarantine bha-host --reason audit >/dev/null ||
	fail "quarantine bha-ports, bha-host"
J=$(bh -o json audit)
jq -e '.findings[] | select(.object == "bha-ports" and .port == "80/tcp") | .severity == "info" and .quarantined == true' <<<"$J" >/dev/null &&
	pass "json: a quarantined container's open port is info" ||
	fail "json: quarantined bha-ports 80/tcp: $(jq -c '[.findings[] | select(.object == "bha-ports")]' <<<"$J")"
jq -e '.findings[] | select(.object == "bha-host" and .kind == "host-network") | .severity == "high" and (.explanation | contains("quarantine has no effect"))' <<<"$J" >/dev/null &&
	pass "json: a quarantine on the host network is said to have no effect" ||
	fail "json: quarantined bha-host: $(jq -c '[.findings[] | select(.object == "bha-host")]' <<<"$J")"
bh release bha-ports >/dev/null; bh release bha-host >/dev/null

# Without the containers behind the high findings: exit 0 unless the host
# itself has one (then it must be named).
# One at a time (lib.sh: docker_rm); the sharer before its namespace's owner.
docker_rm bha-share bha-host bha-admin bha-all bha-ports bha-pub $PRIV
gone() { ! known bha-host && ! known bha-pub && ! known bha-ports; }
wait_for 20 gone || fail "daemon still lists removed containers"
J=$(bh -o json audit); rc=$?
high=$(jq '.summary.high' <<<"$J")
if [ "$high" = 0 ]; then
	[ $rc -eq 0 ] && pass "exit 0 without a high finding" || fail "exit $rc without a high finding"
else
	[ $rc -eq 1 ] && fail "host has high findings of its own, exit 0 not checked: $(jq -c '[.findings[] | select(.severity == "high") | .object + " " + .kind]' <<<"$J")" ||
		fail "exit $rc with $high high findings"
fi
[ "$(jq '[.findings[] | select(.object | startswith("bha-"))] | length' <<<"$J")" = 0 ] &&
	pass "json: no finding left about removed containers" || fail "json: stale findings"

bh audit --help | grep -q 'usage: bulkhead' && pass "audit --help" || fail "audit --help"
bh audit extra >/dev/null 2>&1; [ $? -eq 2 ] && pass "audit with an argument: exit 2" ||
	fail "audit with an argument: not exit 2"
"$B/bulkhead" -s "$W/nosuch.sock" audit >/dev/null 2>&1; [ $? -eq 3 ] &&
	pass "no daemon: exit 3" || fail "no daemon: not exit 3"

finish
