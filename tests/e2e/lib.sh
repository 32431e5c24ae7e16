# lib.sh: helpers shared by the end-to-end tests (sourced, bash).
# Each test prints "PASS name" or "FAIL name: why" lines; the runner
# counts them.  A test script exits non-zero when any check failed.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=${B:-$ROOT/build}
IMAGE=bulkhead-test:latest
TLABEL=bulkhead.test=1
npass=0
nfail=0

pass() { echo "PASS $*"; npass=$((npass + 1)); }
fail() { echo "FAIL $*"; nfail=$((nfail + 1)); }
check() { # check NAME COMMAND...: passes when the command succeeds
	local name=$1; shift
	if "$@" >/dev/null 2>&1; then pass "$name"; else fail "$name"; fi
}
finish() {
	echo "# $(basename "$0"): $npass passed, $nfail failed"
	[ "$nfail" -eq 0 ]
}

# Every daemon a test starts compares each patched ruleset with a whole
# compile and logs "patch check:" when they differ (src/controller.c).
export BULKHEAD_CHECK_PATCHES=1

# patches_agree LOG: fails when the daemon's log shows a patch that
# differed from a whole compile.
patches_agree() {
	local n
	n=$(grep -c 'patch check:' "$1" 2>/dev/null)
	if [ "${n:-0}" -eq 0 ]; then pass "every patch equal to a whole compile"
	else fail "$n patch(es) differed from a whole compile: $(grep -m1 'patch check:' "$1")"; fi
}

need_root() {
	if [ "$(id -u)" != 0 ]; then
		fail "$(basename "$0"): must run as root (real nftables and Docker)"
		finish
		exit 1
	fi
}

# wait_for SECONDS COMMAND...: polls every 0.1 s.
wait_for() {
	local deadline=$(( $(date +%s%N) + $1 * 1000000000 )); shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -gt "$deadline" ] && return 1
		sleep 0.1
	done
}

# run_ctr NAME LABEL CMD...: a test container on the default bridge.
run_ctr() {
	local name=$1 label=$2; shift 2
	docker rm -f "$name" >/dev/null 2>&1
	docker run -d --name "$name" --label "$TLABEL" --label "$label" \
		"$IMAGE" "$@" >/dev/null
}

ctr_ip() { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$1" | awk '{print $1}'; }

# tcp_reply FROM IP PORT: what a TCP server sends back (empty when blocked).
tcp_reply() { docker exec "$1" nc -w 2 "$2" "$3" </dev/null 2>/dev/null; }

cleanup_containers() {
	docker_rm $(docker ps -aq --filter "label=$TLABEL" 2>/dev/null)
}

# docker_rm CONTAINER...: removes containers one at a time.  Debian 12's
# dockerd (20.10.24) deadlocks for good when two containers of one network
# are torn down at the same moment (a lock-order bug between its endpoint
# watch loop and the leaving sandbox: moby/moby#42545, fixed upstream and
# in libnetwork#2679, not in Debian's build), so tests never remove
# containers in parallel.  Should it wedge anyway, it is restarted, loudly.
# Returns 1 when dockerd had to be restarted.
docker_rm() {
	local c rc=0
	for c in "$@"; do
		timeout 60 docker rm -f "$c" >/dev/null 2>&1
		[ $? -eq 124 ] || continue
		echo "# docker rm $c got no answer in 60 s: dockerd wedged (moby/moby#42545); restarting it" >&2
		docker_unwedge
		timeout 60 docker rm -f "$c" >/dev/null 2>&1
		rc=1
	done
	return $rc
}

# docker_unwedge: restarts a dockerd that stopped answering.
docker_unwedge() {
	local i
	pkill -x dockerd
	for i in 1 2 3 4 5 6 7 8 9 10; do pgrep -x dockerd >/dev/null || break; sleep 1; done
	pkill -9 -x dockerd
	bash "$ROOT/tools/docker-up.sh" >/dev/null 2>&1
}

# kernel_elems FAMILY SET: the set's elements, one a line, concatenations
# joined with " . ", maps as "key : verdict".
kernel_elems() {
	{ nft -j list set "$1" bulkhead "$2" 2>/dev/null ||
	  nft -j list map "$1" bulkhead "$2" 2>/dev/null; } | jq -r '
		.nftables[] | .set // .map | select(.) | .elem[]? |
		def one: if type == "object" and has("concat") then .concat | map(tostring) | join(" . ")
			elif type == "object" and has("elem") then .elem.val | one
			else tostring end;
		if type == "array" then (.[0] | one) + " : " + (.[1] | tostring) else one end' | sort
}

# kernel_keys FAMILY SET: the keys of a set or map, one a line.
kernel_keys() { kernel_elems "$1" "$2" | sed 's/ : .*//' | sort; }
