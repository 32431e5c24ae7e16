#!/bin/bash
# k8s_scale.sh [CONTAINERS] [NAMESPACES]: how long `bulkhead plan` takes to
# compile Kubernetes NetworkPolicies (10 per namespace, each with an ingress
# rule from a namespaceSelector AND podSelector on a named port and 443, and
# an egress rule to its namespace on the named port) over CONTAINERS
# containers (default 2000) spread over NAMESPACES namespaces (default 20).
# Offline: no root, no Docker, no kernel.
cd "$(dirname "$0")/../.." || exit 1
N=${1:-2000} NS=${2:-20}
W=$(mktemp -d /tmp/bulkhead-k8s-scale.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/rules"
{
	echo '{"containers":['
	for ((i = 0; i < N; i++)); do
		[ $i -gt 0 ] && echo ','
		printf '{"id":"%016x","name":"c%d","labels":{"app":"app%d","bulkhead.namespace":"ns%d","bulkhead.port.http":"%d/TCP"},' \
			$((0xabc000 + i)) $i $((i % 50)) $((i % NS)) $((8080 + i % 3))
		printf '"endpoints":[{"network":"n","bridge":"br-x","veth":"veth%d","ipv4":"10.%d.%d.%d","mac":"02:42:00:00:%02x:%02x"}]}' \
			$i $((40 + i / 62500)) $(((i / 250) % 250)) $((i % 250 + 2)) $((i / 256 % 256)) $((i % 256))
	done
	echo ']}'
} >"$W/inventory.json"
{
	echo '{"apiVersion":"v1","kind":"List","items":['
	for ((n = 0; n < NS; n++)); do
		[ $n -gt 0 ] && echo ','
		printf '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"ns%d","labels":{"tier":"t%d"}}}' $n $((n % 4))
		for ((a = 0; a < 10; a++)); do
			printf ',{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"p%d","namespace":"ns%d"},' $a $n
			printf '"spec":{"podSelector":{"matchLabels":{"app":"app%d"}},' $((a * 5))
			printf '"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"tier":"t%d"}},"podSelector":{"matchLabels":{"app":"app%d"}}}],' $((a % 4)) $((a * 7 % 50))
			printf '"ports":[{"port":"http"},{"port":443}]}],"egress":[{"to":[{"podSelector":{}}],"ports":[{"port":"http"}]}]}}'
		done
	done
	echo ']}'
} >"$W/rules/k8s.json"
chmod -R go-w "$W"
start=$(date +%s%N)
build/bulkhead plan --rules "$W/rules" --inventory "$W/inventory.json" >"$W/plan.nft" || exit 1
end=$(date +%s%N)
echo "k8s_scale: $N containers, $NS namespaces, $((NS * 10)) NetworkPolicies:" \
	"plan in $(((end - start) / 1000000)) ms, $(grep -c '^	chain' "$W/plan.nft") chains," \
	"$(grep -c '^	set ' "$W/plan.nft") sets, $(wc -l <"$W/plan.nft") lines"
