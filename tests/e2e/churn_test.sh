#!/bin/bash
# churn_test.sh: CHURN_CONTAINERS (default 100) containers started and
# removed concurrently (docker run CHURN_PARALLEL at a time, default 8,
# docker rm -f beside them), half on the default bridge and half on a user-defined
# network, with bulkheadd running.  After each phase three sources must
# agree exactly:
#   docker      `docker ps` (ids, names) and `docker inspect` (addresses)
#   bulkheadd   `bulkhead -o json status` (ids, names, veths, addresses)
#   the kernel  `nft -j list set|map` of bulkhead's tables: the port guard
#               (ports, port_ip4), the managed addresses (addrs4) and the
#               ingress dispatch (in4: every managed address, a policy
#               chain for the selected containers, accept for the others)
# and every veth the kernel guards exists on the host.  Phases:
#   A. all containers started at once;
#   B. the first half removed while a quarter more start, mixed;
#   C. everything removed: nothing of them is left.
# Starts run CHURN_PARALLEL at a time; removals run one after the other
# beside them, as fast as dockerd takes them (Debian's dockerd deadlocks on
# parallel removals: docker_rm in lib.sh).
# Run as root holding the lock: flock /tmp/bulkhead-e2e.lock bash tests/e2e/churn_test.sh
. "$(dirname "$0")/lib.sh"
need_root

GROUP=107
N=${CHURN_CONTAINERS:-100}
P=${CHURN_PARALLEL:-8}
NET=bulkhead-churn
W=$(mktemp -d /tmp/bulkhead-churn.XXXXXX)
RULES=$W/rules
SOCK=$W/control.sock
mkdir -p "$RULES"
chmod 755 "$W" "$RULES"
DPID=

teardown() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	"$B/bulkheadd" --flush >/dev/null 2>&1
	cleanup_containers
	docker network rm "$NET" >/dev/null 2>&1
	rm -rf "$W"
}
trap teardown EXIT

for tool in jq nft xargs; do
	command -v $tool >/dev/null || { fail "$tool is not installed"; finish; exit 1; }
done

cat >"$RULES/10-churn.json" <<'JSON'
{"apiVersion": "bulkhead/v1", "kind": "Policy",
 "metadata": {"name": "churn-ingress"},
 "spec": {"selector": "app == 'churn'",
          "ingress": [{"action": "allow", "protocol": "tcp",
                       "source": {"selector": "app == 'api'"},
                       "destination": {"ports": [80]}}]}}
JSON
chmod 644 "$RULES/10-churn.json"

status() { "$B/bulkhead" -s "$SOCK" -o json status 2>/dev/null; }
now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }

# The three views, each as sorted lines in $W/<view>.<what>.
view_docker() {
	docker ps -q --no-trunc | sort >"$W/docker.ids"
	xargs -r docker inspect -f '{{.Id}} {{.Name}}' <"$W/docker.ids" |
		sed 's| /| |' | sort >"$W/docker.names"
	xargs -r docker inspect -f '{{range .NetworkSettings.Networks}}{{if .IPAddress}}{{.MacAddress}} {{.IPAddress}}
{{end}}{{end}}' <"$W/docker.ids" | grep . | sort >"$W/docker.addrs"
}
view_daemon() {
	status >"$W/status.json" || return 1
	jq -r '.containers[].id' "$W/status.json" | sort >"$W/daemon.ids"
	jq -r '.containers[] | "\(.id) \(.name)"' "$W/status.json" | sort >"$W/daemon.names"
	jq -r '.containers[].endpoints[] | select(.veth != "" and .ipv4) | "\(.mac) \(.ipv4)"' \
		"$W/status.json" | sort >"$W/daemon.addrs"
	jq -r '.containers[].endpoints[] | select(.veth != "") | .veth' "$W/status.json" | sort >"$W/daemon.ports"
	jq -r '.containers[].endpoints[] | select(.veth != "" and .ipv4) | "\(.veth) . \(.mac) . \(.ipv4)"' \
		"$W/status.json" | sort >"$W/daemon.port_ip4"
	jq -r '.containers[].endpoints[] | select(.veth != "" and .ipv4) | .ipv4' "$W/status.json" | sort >"$W/daemon.addrs4"
	# in4 holds every managed address; those of containers an ingress
	# policy selects lead to a policy chain, the others are accepted.
	cp "$W/daemon.addrs4" "$W/daemon.in4"
	jq -r '.containers[] | select(.ingress | length > 0) | .endpoints[] | select(.veth != "" and .ipv4) | .ipv4' \
		"$W/status.json" | sort >"$W/daemon.in4_policy"
}
view_kernel() {
	kernel_keys bridge ports >"$W/kernel.ports"
	kernel_elems bridge port_ip4 >"$W/kernel.port_ip4"
	kernel_elems inet addrs4 >"$W/kernel.addrs4"
	kernel_elems inet in4 >"$W/kernel.in4_raw"
	sed 's/ : .*//' "$W/kernel.in4_raw" | sort >"$W/kernel.in4"
	grep -v ' : {"accept"' "$W/kernel.in4_raw" | sed 's/ : .*//' | sort >"$W/kernel.in4_policy"
}
differ() { # differ A B: A and B hold the same lines
	cmp -s "$W/$1" "$W/$2" && return 1
	echo "# $1 vs $2: $(diff "$W/$1" "$W/$2" | grep '^[<>]' | head -4 | tr '\n' ' ')"
}
agree() { # agree: the three views match; prints what differs
	local bad=0 v
	view_docker; view_daemon || return 1; view_kernel
	[ "$(jq .in_sync "$W/status.json")" = true ] || { echo "# daemon not in sync"; bad=1; }
	differ docker.ids daemon.ids && bad=1
	differ docker.names daemon.names && bad=1
	differ docker.addrs daemon.addrs && bad=1
	for v in ports port_ip4 addrs4 in4 in4_policy; do
		differ daemon.$v kernel.$v && bad=1
	done
	ip -o link show type veth | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort >"$W/links"
	v=$(comm -23 "$W/kernel.ports" "$W/links")
	[ -n "$v" ] && { echo "# kernel guards veths that do not exist: $v"; bad=1; }
	return $bad
}
# converged PHASE NCHURN: the views agree (within 30 s) and the daemon
# knows NCHURN churn containers.
converged() {
	local t0 ms n
	t0=$(now_ms)
	until agree >"$W/why"; do
		if [ $(( $(now_ms) - t0 )) -gt 30000 ]; then
			fail "$1: docker, bulkheadd and the kernel disagree after 30 s: $(tr '\n' ' ' <"$W/why")"
			return
		fi
		sleep 0.2
	done
	ms=$(( $(now_ms) - t0 ))
	n=$(jq '[.containers[] | select(.labels.app == "churn")] | length' "$W/status.json")
	if [ "$n" -eq "$2" ]; then
		pass "$1: docker ps, status and the kernel agree exactly ($n churn containers, $(wc -l <"$W/kernel.ports") guarded ports, $(wc -l <"$W/kernel.in4_policy") ingress policy verdicts; agreed within ${ms} ms of the last docker command)"
	else
		fail "$1: $n churn containers known, $2 expected"
	fi
}

cleanup_containers
docker network rm "$NET" >/dev/null 2>&1
"$B/bulkheadd" --flush >/dev/null 2>&1
docker network create --label "$TLABEL" "$NET" >/dev/null ||
	{ fail "cannot create network $NET"; finish; exit 1; }
run_ctr api app=api sleep 1d
run_ctr web app=web sleep 1d
# api and web on both networks: two endpoints, two veths each.
docker network connect "$NET" api && docker network connect "$NET" web ||
	fail "cannot connect api and web to $NET"
"$B/bulkheadd" --rules "$RULES" --control-socket "$SOCK" --foreground \
	--nflog-group $GROUP >>"$W/bulkheadd.log" 2>&1 &
DPID=$!
wait_for 20 sh -c "\"$B/bulkhead\" -s \"$SOCK\" -o json status | jq -e .in_sync" ||
	{ fail "daemon did not start: $(tail -3 "$W/bulkheadd.log")"; finish; exit 1; }

# run_cmd I / rm_cmd I: one docker command line for xargs.
run_cmd() {
	local net=
	[ $(($1 % 2)) = 1 ] && net="--network $NET"
	echo "docker run -d --name churn$1 --label $TLABEL --label app=churn $net $IMAGE nc -ll -p 80 -e echo churn-ok"
}
rm_cmd() { echo "docker rm -f churn$1"; }
# churn FILE: runs its lines, the starts P at a time and, meanwhile, the
# removals one after the other (two removals at once can deadlock Debian's
# dockerd: see docker_rm in lib.sh); returns the ms taken.
churn() {
	local t0 c wedged=0; t0=$(now_ms)
	grep '^docker run' "$1" | xargs -P "$P" -I{} sh -c '{} >/dev/null 2>>'"$W/docker.err" &
	for c in $(grep '^docker rm' "$1" | awk '{print $NF}'); do
		docker_rm "$c" 2>>"$W/docker.err" || wedged=1
	done
	wait
	[ $wedged = 0 ] || echo "dockerd wedged during the removals and was restarted" >>"$W/docker.err"
	echo $(( $(now_ms) - t0 ))
}

# ---- A. N started at once
for i in $(seq 1 "$N"); do run_cmd "$i"; done >"$W/a.cmds"
ms=$(churn "$W/a.cmds")
running=$(docker ps -q --filter label=app=churn | wc -l)
echo "# A: $running of $N containers started in $ms ms ($P at a time)"
[ "$running" -eq "$N" ] && pass "A: $N containers started concurrently" ||
	fail "A: $running of $N started: $(sort -u "$W/docker.err" | head -3)"
converged A "$running"
for c in churn7 churn8; do	# on $NET, on the default bridge
	ip=$(ctr_ip $c)
	[ "$(tcp_reply api "$ip" 80)" = churn-ok ] && pass "A: api -> $c:80 allowed" || fail "A: api -> $c:80 blocked"
	[ -z "$(tcp_reply web "$ip" 80)" ] && pass "A: web -> $c:80 denied" || fail "A: web -> $c:80 passed"
done

# ---- B. half removed while a quarter more start
M=$((N + N / 4))
{ for i in $(seq 1 $((N / 2))); do rm_cmd "$i"; done
  for i in $(seq $((N + 1)) "$M"); do run_cmd "$i"; done; } | shuf >"$W/b.cmds"
: >"$W/docker.err"
ms=$(churn "$W/b.cmds")
running=$(docker ps -q --filter label=app=churn | wc -l)
echo "# B: $((N / 2)) removed and $((M - N)) started, mixed, in $ms ms"
[ "$running" -eq $((M - N / 2)) ] && pass "B: $((N / 2)) removed and $((M - N)) started concurrently" ||
	fail "B: $running churn containers running, $((M - N / 2)) expected: $(sort -u "$W/docker.err" | head -3)"
converged B "$running"

# ---- C. everything removed
for i in $(seq $((N / 2 + 1)) "$M"); do rm_cmd "$i"; done >"$W/c.cmds"
: >"$W/docker.err"
ms=$(churn "$W/c.cmds")
running=$(docker ps -q --filter label=app=churn | wc -l)
echo "# C: $(wc -l <"$W/c.cmds") removed in $ms ms"
[ "$running" -eq 0 ] && pass "C: all churn containers removed" || fail "C: $running still running"
converged C 0
[ "$(jq '.apply_failures' "$W/status.json")" = 0 ] && pass "no apply failed during the churn" ||
	fail "apply failures: $(jq -r .last_error "$W/status.json")"
kill -0 "$DPID" && pass "daemon alive" || fail "daemon died"
# Container starts and stops go through patches, not whole compiles.
p=$(jq '.patch_applies' "$W/status.json")
a=$(jq '.applies' "$W/status.json")
[ "${p:-0}" -gt $((a / 2)) ] && pass "$p of $a applies were patches" ||
	fail "only ${p:-0} of $a applies were patches"
patches_agree "$W/bulkheadd.log"
finish
