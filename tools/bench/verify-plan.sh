#!/bin/bash
# verify-plan.sh [RULES-DIR]: times the probe plan bulkheadd computes for
# `bulkhead verify` (tools/bench/probeplan.c) at 100, 1000 and 10,000
# containers, for samples of 50 and 1000, with RULES-DIR (default rules/).
# No root; needs `make` first (links the pure objects of build/obj).
cd "$(dirname "$0")/../.." || exit 1
RULES=${1:-rules}
mkdir -p build/bench
objs=$(for f in src/log src/util src/labels src/errlist src/selector src/jsonloc \
    src/policy src/k8s src/evaluate src/explain src/probeplan src/inventory \
    src/docker_parse src/ir src/compile src/snapshot src/quarantine; do
	echo build/obj/$f.o; done)
cc -O2 -std=gnu11 -Wall -Wextra -Iinclude -D_GNU_SOURCE \
    -o build/bench/probeplan tools/bench/probeplan.c $objs \
    $(pkg-config --libs jansson) || exit 1
for n in 100 1000 10000; do
	for s in 50 1000; do
		build/bench/probeplan "$RULES" $n $s || exit 1
	done
done
