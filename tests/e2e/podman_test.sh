#!/bin/bash
# podman_test.sh: bulkheadd on Podman's Docker-compatible socket
# (`podman system service`), rootful, with Podman's own bridge (netavark,
# podman0, host veths named vethN).  Everything runs in a network
# namespace of the test's own: Podman's service, its containers' host
# ends, its firewall rules and bulkheadd's tables, so the host's nftables
# and Docker are not touched (no lock needed).  Checks:
#   - containers started before bulkheadd are classified from the listing,
#     each on the veth whose master is podman0 (the bridge is Podman's
#     network_interface: the compatible network document has none);
#   - an allowed flow passes, a denied one is dropped;
#   - a container started later is learnt from Podman's event stream and
#     enforced; removed, it leaves the inventory and the kernel.
#   - bulkhead audit knows podman0 as a Podman network's bridge (libpod
#     listing) and reports Podman's version.
# Needs podman (Debian's podman package); fails when it is missing.
. "$(dirname "$0")/lib.sh"
need_root

NS=bhpodman$$
W=$(mktemp -d /tmp/bulkhead-podman.XXXXXX)
RULES=$W/rules
SOCK=$W/control.sock
PSOCK=$W/podman.sock
P=bhp$$-	# container name prefix
mkdir -p "$RULES"
chmod 755 "$W" "$RULES"
DPID=
SPID=
# Podman's default nofile/nproc limits exceed what some sandboxes allow.
ULIM="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"

in_ns() { nsenter --net="/run/netns/$NS" "$@"; }
teardown() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	in_ns podman ps -aq --filter "name=^$P" 2>/dev/null | xargs -r nsenter --net="/run/netns/$NS" podman rm -f -t 0 >/dev/null 2>&1
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$W"
}
trap teardown EXIT

for tool in podman nsenter jq nft; do
	command -v $tool >/dev/null || { fail "$tool is not installed (apt-get install podman)"; finish; exit 1; }
done
t0=$(date +%s%N)
ip netns add "$NS" || { fail "cannot create netns $NS"; finish; exit 1; }
in_ns ip link set lo up
in_ns sysctl -qw net.ipv4.ip_forward=1
# nsenter, not `ip netns exec`: the latter remounts /sys, hiding the
# cgroup mounts the runtime needs.  Not through in_ns: $! must be the
# program's pid (nsenter execs it).
nsenter --net="/run/netns/$NS" podman system service --time=0 "unix://$PSOCK" >"$W/podman.log" 2>&1 &
SPID=$!
ENGINE=podman "$ROOT/tools/mkimage.sh" >/dev/null || { fail "cannot build the image into podman"; finish; exit 1; }
wait_for 20 test -S "$PSOCK" || { fail "podman system service did not start: $(tail -3 "$W/podman.log")"; finish; exit 1; }

cat >"$RULES/10-db.json" <<'JSON'
{"apiVersion": "bulkhead/v1", "kind": "Policy", "metadata": {"name": "db-ingress"},
 "spec": {"selector": "app == 'db'",
          "ingress": [{"action": "allow", "protocol": "tcp",
                       "source": {"selector": "app == 'api'"},
                       "destination": {"ports": [5432]}}]}}
JSON
chmod 644 "$RULES/10-db.json"

prun() { # prun NAME LABEL CMD...
	local name=$1 label=$2; shift 2
	in_ns podman run -d $ULIM --name "$P$name" --label "$TLABEL" --label "$label" \
		"$IMAGE" "$@" >/dev/null 2>>"$W/podman-run.err"
}
pip() { in_ns podman inspect -f '{{.NetworkSettings.IPAddress}}' "$P$1"; }
reply() { in_ns podman exec "$P$1" nc -w 2 "$2" "$3" </dev/null 2>/dev/null; }
status() { "$B/bulkhead" -s "$SOCK" -o json status 2>/dev/null; }
known() { # known N: N of our containers on a veth, kernel in sync
	local st; st=$(status) || return 1
	[ "$(jq .in_sync <<<"$st")" = true ] &&
	[ "$(jq "[.containers[] | select(.name | startswith(\"$P\")) | select(.endpoints[0].veth != \"\")] | length" <<<"$st")" -eq "$1" ]
}

prun db app=db nc -ll -p 5432 -e echo db-ok
prun api app=api sleep 1d
prun web app=web sleep 1d
n=$(in_ns podman ps -q --filter "name=^$P" | wc -l)
[ "$n" -eq 3 ] && pass "podman runs 3 containers (startup $(( ($(date +%s%N) - t0) / 1000000 )) ms)" ||
	{ fail "podman runs $n of 3 containers: $(head -3 "$W/podman-run.err")"; finish; exit 1; }
DB=$(pip db)

nsenter --net="/run/netns/$NS" "$B/bulkheadd" --foreground -v --rules "$RULES" --control-socket "$SOCK" \
	--state-dir "$W/state" --docker-socket "$PSOCK" >"$W/bulkheadd.log" 2>&1 &
DPID=$!
if wait_for 20 known 3; then pass "bulkheadd on podman's socket classified the 3 running containers"
else fail "not classified: $(status | jq -c '[.containers[] | {name, endpoints}]') $(grep -v 'delta\|applied' "$W/bulkheadd.log" | tail -3)"; fi
veth=$(status | jq -r ".containers[] | select(.name == \"${P}db\") | .endpoints[0] | \"\(.bridge) \(.veth)\"")
master=$(in_ns ip -o link show "${veth#* }" 2>/dev/null | grep -o 'master [^ ]*' | cut -d' ' -f2)
[ "${veth% *}" = podman0 ] && [ "$master" = podman0 ] &&
	pass "db's endpoint: bridge podman0, veth ${veth#* } (its master is podman0)" ||
	fail "db's endpoint '$veth', master '$master'"
in_ns nft list set bridge bulkhead ports 2>/dev/null | grep -q "\"${veth#* }\"" &&
	pass "the kernel guards db's veth" || fail "db's veth not in the port guard"
[ "$(reply api "$DB" 5432)" = db-ok ] && pass "allowed: api -> db:5432" || fail "allowed: api -> db:5432 blocked"
[ -z "$(reply web "$DB" 5432)" ] && pass "denied: web -> db:5432" || fail "denied: web -> db:5432 passed"
# bulkhead audit: podman0 is known as a Podman network's bridge (from the
# libpod listing; the compatible one does not name it), the engine is Podman.
A=$("$B/bulkhead" -s "$SOCK" -o json audit)
jq -e '.host.bridges[] | select(.name == "podman0" and .docker == true)' <<<"$A" >/dev/null &&
	! jq -e '.findings[] | select(.kind == "unmanaged-bridge" and .object == "podman0")' <<<"$A" >/dev/null &&
	pass "audit: podman0 is a Podman network's bridge, not unmanaged" ||
	fail "audit on podman: $(jq -c '[.host, [.findings[] | select(.kind == "unmanaged-bridge")]]' <<<"$A")"
pv=$(podman --version | awk '{print $3}')
[ "$(jq -r .host.docker_version <<<"$A")" = "$pv" ] && pass "audit: engine version $pv (Podman)" ||
	fail "audit: engine version $(jq -r .host.docker_version <<<"$A"), podman is $pv"

# Learnt from the event stream.
prun db2 app=db nc -ll -p 5432 -e echo db2-ok
DB2=$(pip db2)
if wait_for 10 known 4; then pass "a container started later is learnt from podman's events"
else fail "db2 not learnt: $(grep -v 'delta\|applied' "$W/bulkheadd.log" | tail -3)"; fi
grep -q "docker event container start" "$W/bulkheadd.log" && pass "podman's start event was read" ||
	fail "no start event in the log"
[ "$(reply api "$DB2" 5432)" = db2-ok ] && pass "allowed: api -> db2:5432" || fail "allowed: api -> db2:5432 blocked"
[ -z "$(reply web "$DB2" 5432)" ] && pass "denied: web -> db2:5432" || fail "denied: web -> db2:5432 passed"
in_ns podman rm -f -t 0 "${P}db2" >/dev/null 2>&1
if wait_for 10 known 3 && ! in_ns nft list set inet bulkhead addrs4 | grep -qw "$DB2"; then
	pass "db2 removed: gone from the inventory and the kernel"
else
	fail "db2 removed: $(status | jq -c '[.containers[].name]')"
fi
kill -0 "$DPID" && pass "daemon alive" || fail "daemon died"
echo "# podman_test: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
patches_agree "$W/bulkheadd.log"
finish
