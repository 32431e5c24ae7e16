#!/bin/bash
# docker_restart_test.sh: bulkheadd keeps the host protected and converges
# when the Docker engine goes away and comes back.
#  - the engine's socket is missing when bulkheadd starts: it retries with
#    backoff, then synchronises once the socket answers;
#  - dockerd is stopped and restarted (no live-restore: containers come
#    back with new veths): the rules stay in force during the outage, and
#    the restarted containers are classified again from a full listing;
#  - dockerd with live-restore (--live-restore on its command line, no
#    configuration file touched) is stopped: the containers keep running
#    on their veths, allowed and denied flows stay so (probed from the
#    containers' namespaces, Docker being down), and when it comes back
#    bulkheadd reconnects and finds the same containers on the same veths;
#    continuous probers (denied web -> db, allowed api -> db) run through
#    the outage and the restart and must see 0 denied connections through.
#    dockerd is then started again as it was, without live-restore.
# The dockerd restarted is the one of /var/run/docker.pid (others may run).
. "$(dirname "$0")/lib.sh"
need_root

GROUP=104
W=$(mktemp -d /tmp/bulkhead-dr.XXXXXX)
RULES=$W/rules
SOCK=$W/control.sock
PROXY=$W/docker.sock
mkdir -p "$RULES"; chmod 755 "$W" "$RULES"
DPID=; PPID_SOCAT=; PROBERS=

dockerd_pid() { cat /var/run/docker.pid 2>/dev/null; }
stop_dockerd() {
	local pid
	pid=$(dockerd_pid)
	[ -n "$pid" ] && kill -TERM "$pid" &&
		wait_for 30 sh -c "! kill -0 $pid 2>/dev/null"
}

teardown() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	[ -n "$PPID_SOCAT" ] && kill "$PPID_SOCAT" 2>/dev/null
	touch "$W/probe.stop"; [ -n "$PROBERS" ] && wait $PROBERS 2>/dev/null
	"$B/bulkheadd" --flush >/dev/null 2>&1
	# Leave the engine as it was: running, without live-restore.
	[ "$(docker info -f '{{.LiveRestoreEnabled}}' 2>/dev/null)" = true ] && stop_dockerd
	docker info >/dev/null 2>&1 || "$ROOT/tools/docker-up.sh" >/dev/null 2>&1
	cleanup_containers
	rm -rf "$W"
}
trap teardown EXIT

cat >"$RULES/db.json" <<'JSON'
{"apiVersion": "bulkhead/v1", "kind": "Policy", "metadata": {"name": "db-ingress"},
 "spec": {"selector": "app == 'db'",
          "ingress": [{"action": "allow", "protocol": "tcp",
                       "source": {"selector": "app == 'api'"},
                       "destination": {"ports": [5432]}}]}}
JSON
chmod 644 "$RULES/db.json"

status() { "$B/bulkhead" -s "$SOCK" -o json status 2>/dev/null; }
known() { # known N: N test containers classified, kernel in sync, engine connected
	local st; st=$(status) || return 1
	[ "$(jq '.in_sync and .docker_connected' <<<"$st")" = true ] &&
	[ "$(jq '[.containers[] | select(.labels["bulkhead.test"] == "1") | select(.endpoints[0].veth != "")] | length' <<<"$st")" -ge "$1" ]
}
probe_db() { tcp_reply "$1" "$(ctr_ip db)" 5432; }

cleanup_containers
for c in db api web; do
	docker rm -f $c >/dev/null 2>&1
done
docker run -d --restart always --name db --label $TLABEL --label app=db $IMAGE nc -ll -p 5432 -e echo db-ok >/dev/null
docker run -d --restart always --name api --label $TLABEL --label app=api $IMAGE sleep 1d >/dev/null
docker run -d --restart always --name web --label $TLABEL --label app=web $IMAGE sleep 1d >/dev/null

# 1. The engine's socket is missing at start.
"$B/bulkheadd" --rules "$RULES" --control-socket "$SOCK" --foreground -v \
	--nflog-group $GROUP --docker-socket "$PROXY" >>"$W/bulkheadd.log" 2>&1 &
DPID=$!
sleep 2
if st=$(status) && [ "$(jq .docker_connected <<<"$st")" = false ]; then
	pass "socket missing: daemon up, reports the engine disconnected"
else
	fail "socket missing: unexpected status: $st"
fi
kill -0 "$DPID" 2>/dev/null && pass "socket missing: daemon keeps running" ||
	fail "socket missing: daemon exited"
socat UNIX-LISTEN:"$PROXY",fork UNIX-CONNECT:/var/run/docker.sock &
PPID_SOCAT=$!
if wait_for 20 known 3; then pass "socket appears: daemon connects and synchronises"
else fail "socket appears: no sync ($(tail -3 "$W/bulkheadd.log"))"; fi
[ "$(probe_db api)" = db-ok ] && pass "enforced: api -> db allowed" || fail "api -> db blocked"
[ -z "$(probe_db web)" ] && pass "enforced: web -> db denied" || fail "web -> db passed"

# 2. dockerd stopped and restarted.
old_veth=$(jq -r '.containers[] | select(.name == "db") | .endpoints[0].veth' <<<"$(status)")
stop_dockerd || fail "dockerd did not stop"
sleep 1
st=$(status)
[ "$(jq .docker_connected <<<"$st")" = false ] && pass "dockerd down: daemon notices" ||
	fail "dockerd down: daemon still claims a connection"
nft list table inet bulkhead >/dev/null 2>&1 && pass "dockerd down: ruleset stays in the kernel" ||
	fail "dockerd down: ruleset gone"
"$ROOT/tools/docker-up.sh" >/dev/null 2>&1 || fail "dockerd did not come back"
wait_for 30 sh -c "docker inspect -f '{{.State.Running}}' db api web | grep -vq false" ||
	fail "containers did not restart"
if wait_for 30 known 3; then pass "dockerd back: daemon resynchronised"
else fail "dockerd back: no resync ($(tail -3 "$W/bulkheadd.log"))"; fi
new_veth=$(jq -r '.containers[] | select(.name == "db") | .endpoints[0].veth' <<<"$(status)")
[ -n "$new_veth" ] && [ "$new_veth" != "$old_veth" ] &&
	pass "dockerd back: db classified on its new veth ($old_veth -> $new_veth)" ||
	fail "dockerd back: db veth $old_veth -> $new_veth"
wait_for 10 sh -c "[ \"\$(docker exec api nc -w 1 $(ctr_ip db) 5432 </dev/null 2>/dev/null)\" = db-ok ]" &&
	pass "dockerd back: api -> db allowed" || fail "dockerd back: api -> db blocked"
[ -z "$(probe_db web)" ] && pass "dockerd back: web -> db denied" || fail "dockerd back: web -> db passed"
grep -q "unavailable; retrying" "$W/bulkheadd.log" && pass "reconnection logged with backoff" ||
	fail "no reconnection in the log"
# 3. dockerd with live-restore.
veth_of() { jq -r --arg n "$1" '.containers[] | select(.name == $n) | .endpoints[0].veth' <<<"$(status)"; }
# from_ns PID: what db's server answers a client in the namespace of PID.
from_ns() { nsenter -t "$1" -n nc -w 2 "$DBIP" 5432 </dev/null 2>/dev/null; }
stop_dockerd || fail "live-restore: dockerd did not stop"
DOCKERD_ARGS=--live-restore "$ROOT/tools/docker-up.sh" >/dev/null 2>&1 ||
	fail "live-restore: dockerd did not start with --live-restore"
[ "$(docker info -f '{{.LiveRestoreEnabled}}')" = true ] &&
	pass "live-restore: dockerd runs with it" || fail "live-restore: not enabled"
wait_for 30 sh -c "docker inspect -f '{{.State.Running}}' db api web | grep -vq false" ||
	fail "live-restore: containers did not restart"
wait_for 30 known 3 || fail "live-restore: no resync after the restart ($(tail -3 "$W/bulkheadd.log"))"
DBIP=$(ctr_ip db)
apipid=$(docker inspect -f '{{.State.Pid}}' api)
webpid=$(docker inspect -f '{{.State.Pid}}' web)
lr_veth=$(veth_of db)
# Continuous probers in web's (denied) and api's (allowed) namespaces from
# now until the engine is back and resynchronised: one attempt every
# ~50 ms, "." when db answered, "X" when not.
prober() { # prober PID FILE
	while [ ! -e "$W/probe.stop" ]; do
		if [ "$(nsenter -t "$1" -n nc -w 1 "$DBIP" 5432 </dev/null 2>/dev/null)" = db-ok ]
		then echo .; else echo X; fi
		sleep 0.05
	done >"$2"
}
# A denied attempt waits out nc's 1 s timeout: three denied probers.
for i in 1 2 3; do prober "$webpid" "$W/probe.web$i" & PROBERS="$PROBERS $!"; done
prober "$apipid" "$W/probe.api" & PROBERS="$PROBERS $!"
stop_dockerd || fail "live-restore: dockerd did not stop"
kill -0 "$apipid" 2>/dev/null && kill -0 "$webpid" 2>/dev/null && ip link show "$lr_veth" >/dev/null 2>&1 &&
	pass "live-restore: containers and veths outlive dockerd" ||
	fail "live-restore: containers gone with dockerd"
wait_for 10 sh -c "\"$B/bulkhead\" -s \"$SOCK\" -o json status | jq -e '.docker_connected == false'" &&
	pass "live-restore, dockerd down: daemon notices" || fail "live-restore, dockerd down: not noticed"
[ "$(from_ns "$apipid")" = db-ok ] && pass "live-restore, dockerd down: api -> db allowed" ||
	fail "live-restore, dockerd down: api -> db blocked"
[ -z "$(from_ns "$webpid")" ] && pass "live-restore, dockerd down: web -> db denied" ||
	fail "live-restore, dockerd down: web -> db passed"
DOCKERD_ARGS=--live-restore "$ROOT/tools/docker-up.sh" >/dev/null 2>&1 ||
	fail "live-restore: dockerd did not come back"
if wait_for 30 known 3; then pass "live-restore, dockerd back: daemon resynchronised"
else fail "live-restore, dockerd back: no resync ($(tail -3 "$W/bulkheadd.log"))"; fi
[ "$(docker inspect -f '{{.State.Pid}}' api)" = "$apipid" ] && [ "$(veth_of db)" = "$lr_veth" ] &&
	pass "live-restore, dockerd back: same containers on the same veths ($lr_veth)" ||
	fail "live-restore, dockerd back: db on $(veth_of db), was $lr_veth"
[ "$(probe_db api)" = db-ok ] && pass "live-restore, dockerd back: api -> db allowed" ||
	fail "live-restore, dockerd back: api -> db blocked"
[ -z "$(probe_db web)" ] && pass "live-restore, dockerd back: web -> db denied" ||
	fail "live-restore, dockerd back: web -> db passed"
touch "$W/probe.stop"; wait $PROBERS
leaks=$(cat "$W"/probe.web? | grep -c '^\.$'); tries=$(cat "$W"/probe.web? | wc -l)
ok=$(grep -c '^\.$' "$W/probe.api"); ctl=$(wc -l <"$W/probe.api")
[ "$tries" -gt 20 ] && [ "$leaks" -eq 0 ] &&
	pass "live-restore, dockerd stopped and back: 0 of $tries denied attempts (web -> db:5432) got through" ||
	fail "live-restore, dockerd stopped and back: $leaks of $tries denied attempts got through"
[ "$ctl" -gt 20 ] && [ "$ok" -eq "$ctl" ] &&
	pass "live-restore, dockerd stopped and back: control prober api -> db:5432: $ok of $ctl passed" ||
	fail "live-restore: control prober api -> db:5432: $ok of $ctl passed"
stop_dockerd && "$ROOT/tools/docker-up.sh" >/dev/null 2>&1 &&
	[ "$(docker info -f '{{.LiveRestoreEnabled}}')" = false ] &&
	pass "dockerd started again as it was (no live-restore)" || fail "dockerd not restored"
for c in db api web; do docker update --restart no $c >/dev/null 2>&1; done
finish
