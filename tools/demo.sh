#!/bin/bash
# demo.sh: `sudo make demo`.  A three-tier application (web, api, db) and
# an intruder on a Docker network of their own, bulkheadd on rules/demo,
# a few connections tried, and for each the outcome and, when blocked, the
# policy and rule that blocked it (read back from bulkhead-capture).
# Leaves nothing behind: containers, network, daemon and tables go at exit.
set -u
cd "$(dirname "$0")/.." || exit 1
B=build
GROUP=${DEMO_NFLOG_GROUP:-99}
NET=bulkhead-demo
IMAGE=bulkhead-test:latest
W=$(mktemp -d /tmp/bulkhead-demo.XXXXXX)
DPID= CPID=

if pgrep -x bulkheadd >/dev/null; then
	echo "demo: a bulkheadd is already running; stop it first (the demo runs its own)" >&2
	exit 1
fi

cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	[ -n "$CPID" ] && kill "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
	"$B/bulkheadd" --flush >/dev/null 2>&1
	# One at a time: Debian's dockerd 20.10 can deadlock when containers of
	# one network are removed at once (moby/moby#42545).
	for c in demo-web demo-api demo-db demo-intruder; do
		docker rm -f "$c" >/dev/null 2>&1
	done
	docker network rm "$NET" >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tools/docker-up.sh >/dev/null || { echo "demo: cannot start Docker" >&2; exit 1; }
cleanup 2>/dev/null; trap cleanup EXIT
W=$(mktemp -d /tmp/bulkhead-demo.XXXXXX)
mkdir -p "$W/rules" && cp rules/demo/*.json "$W/rules/" && chmod -R go-w "$W"

docker network create "$NET" >/dev/null || exit 1
run() { # run NAME APP PORT
	docker run -d --name "demo-$1" --network "$NET" --label app="$2" \
		--label bulkhead.demo=1 "$IMAGE" nc -ll -p "$3" -e echo "$1 says hello" >/dev/null
}
run web web 80 && run api api 8080 && run db db 5432 && run intruder intruder 9999 || exit 1
ip_of() { docker inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" "demo-$1"; }

"$B/bulkhead-capture" -g "$GROUP" -o json >"$W/capture.json" 2>"$W/capture.err" &
CPID=$!
"$B/bulkheadd" --rules "$W/rules" --control-socket "$W/control.sock" --state-dir "$W/state" \
	--nflog-group "$GROUP" --foreground >"$W/bulkheadd.log" 2>&1 &
DPID=$!
for _ in $(seq 100); do
	st=$("$B/bulkhead" -s "$W/control.sock" -o json status 2>/dev/null) &&
	[ "$(jq '.in_sync and ([.containers[] | select(.labels["bulkhead.demo"] == "1") | select(.endpoints[0].veth != "")] | length == 4)' <<<"$st")" = true ] &&
		break
	sleep 0.2
done
[ "${st:-}" ] || { echo "demo: bulkheadd did not start: $(tail -3 "$W/bulkheadd.log")" >&2; exit 1; }

echo "bulkhead demo: web, api, db and an intruder on Docker network $NET"
echo "policies (rules/demo):"
for f in rules/demo/*.json; do
	jq -r 'if type == "array" then .[] else . end | "  \(.metadata.name): containers \(.spec.selector)"' "$f"
done
echo "connections:"
try() { # try FROM TO PORT
	local dst out line
	dst=$(ip_of "$2")
	out=$(docker exec "demo-$1" nc -w 2 "$dst" "$3" </dev/null 2>/dev/null)
	if [ -n "$out" ]; then
		printf '  ALLOWED  %-8s -> %s:%s  (%s)\n' "$1" "$2" "$3" "$out"
		return
	fi
	sleep 0.3
	line=$(jq -r --arg s "$(ip_of "$1")" --arg d "$dst" --argjson p "$3" \
		'select(.src == $s and .dst == $d and .dport == $p) |
		 "\(.verdict) by policy \(.policy), \(.direction) rule \(if .rule < 0 then "default" else .rule end)"' \
		"$W/capture.json" 2>/dev/null | head -1)
	printf '  BLOCKED  %-8s -> %s:%s  %s\n' "$1" "$2" "$3" "${line:-(no log line seen)}"
}
try web api 8080
try api db 5432
try web db 5432
try intruder api 8080
try intruder db 5432
try db web 80
echo "(bulkhead status, plan and bulkhead-capture show the same live; the demo now cleans up)"
