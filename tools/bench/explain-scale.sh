#!/bin/bash
# explain-scale.sh [CONTAINERS] [POLICIES]: times offline `bulkhead explain`
# and `bulkhead check` on a generated inventory (default 1000 containers)
# and rules directory (default 200 policies of 5 rules, one file).  No root.
cd "$(dirname "$0")/../.." || exit 1
N=${1:-1000}; P=${2:-200}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
mkdir -p "$W/rules"
{
	printf '{"containers": [\n'
	for ((i = 0; i < N; i++)); do
		printf '%s{"id": "%064x", "name": "c%d", "labels": {"app": "a%d"}, "endpoints": [{"network": "bridge", "ipv4": "10.%d.%d.%d"}]}\n' \
			"$([ $i -gt 0 ] && echo ,)" $((i + 1)) $i $((i % 100)) $((i / 65536)) $((i / 256 % 256)) $((i % 256))
	done
	printf ']}\n'
} >"$W/inventory.json"
{
	printf '[\n'
	for ((i = 0; i < P; i++)); do
		printf '%s{"apiVersion": "bulkhead/v1", "kind": "Policy", "metadata": {"name": "p%d"},\n' "$([ $i -gt 0 ] && echo ,)" $i
		printf ' "spec": {"selector": "app == '"'"'a%d'"'"'", "order": %d, "ingress": [\n' $((i % 100)) $i
		for ((j = 0; j < 5; j++)); do
			printf '  %s{"action": "allow", "protocol": "tcp", "source": {"selector": "app == '"'"'a%d'"'"'"}, "destination": {"ports": [%d]}}\n' \
				"$([ $j -gt 0 ] && echo ,)" $(((i + j) % 100)) $((1000 + j))
		done
		printf ' ]}}\n'
	done
	printf ']\n'
} >"$W/rules/p.json"
chmod -R go-w "$W"
t() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo "$(( (e - s) / 1000000 )) ms: ${*##*/}"; }
echo "$N containers, $P policies x 5 rules:"
t build/bulkhead check "$W/rules"
t build/bulkhead explain --rules "$W/rules" --inventory "$W/inventory.json" c1 c2 -p 1001
