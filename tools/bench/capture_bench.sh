#!/bin/bash
# capture_bench.sh: how fast bulkhead-capture turns records into lines, no
# root needed.  Replicates the records of tests/fixtures/nflog/sample.pcap
# into a large capture (CAPBENCH_RECORDS, default 1200000), serves a fake
# bulkheadd status with CAPBENCH_CONTAINERS containers (default 2000) on
# a private socket, and times `bulkhead-capture -r` in each mode: text and
# JSON without names (-n) and with names, --flows, a selector filter.
# Prints one line per mode: CPU seconds and microseconds per record
# (the status helper and the fake daemon are not counted: they answer a
# few requests).
set -u
cd "$(dirname "$0")/../.." || exit 1
N=${CAPBENCH_RECORDS:-1200000}
C=${CAPBENCH_CONTAINERS:-2000}
CAP=${B:-build}/bulkhead-capture
W=$(mktemp -d /tmp/capbench.XXXXXX)
SPID=
trap '[ -n "$SPID" ] && kill $SPID 2>/dev/null; rm -rf "$W"' EXIT
[ -x "$CAP" ] || { echo "capture_bench: build $CAP first (make)" >&2; exit 1; }

python3 - "$N" "$C" "$W" <<'PY'
import json, struct, sys
n, c, w = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
d = open('tests/fixtures/nflog/sample.pcap', 'rb').read()
recs, off = [], 24
while off < len(d):
    cl = struct.unpack('<I', d[off + 8:off + 12])[0]
    recs.append(d[off:off + 16 + cl]); off += 16 + cl
with open(w + '/big.pcap', 'wb') as f:
    f.write(d[:24])
    for i in range(n):
        f.write(recs[i % len(recs)])
cts = [{"id": "%064x" % i, "name": "c%d" % i,
        "labels": {"app": "a%d" % (i % 10), "com.docker.compose.project": "p"},
        "endpoints": [{"ipv4": "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255)}]}
       for i in range(1, c)]
cts.append({"id": "f" * 64, "name": "db", "labels": {"app": "db"},
            "endpoints": [{"ipv4": "127.0.0.2"}]})
json.dump({"ok": True, "containers": cts}, open(w + '/status.json', 'w'))
PY
python3 - "$W" <<'PY' &
import os, socket, sys
w = sys.argv[1]
ans = open(w + '/status.json', 'rb').read() + b'\n'
s = socket.socket(socket.AF_UNIX); s.bind(w + '/ctl.sock'); s.listen(8)
while True:
    c, _ = s.accept(); c.recv(65536); c.sendall(ans); c.close()
PY
SPID=$!
for i in $(seq 50); do [ -S "$W/ctl.sock" ] && break; sleep 0.1; done

run() { # run LABEL ARGS...: CPU time (user + system), steadier than wall time
	local label=$1; shift
	/usr/bin/time -f "%U %S" -o "$W/time" "$CAP" -r "$W/big.pcap" "$@" \
	    >/dev/null 2>"$W/err" || { echo "$label: failed: $(cat "$W/err")"; return; }
	awk -v l="$label" -v n="$N" '{ s = $1 + $2;
	    printf "%-34s %6.2f s CPU  %5.2f us/record\n", l, s, s * 1e6 / n }' "$W/time"
}
echo "bulkhead-capture -r: $N records, $C containers in the status"
run "text, addresses (-n)" -n
run "text, names" -s "$W/ctl.sock"
run "json, addresses (-n)" -n -o json
run "json, names" -s "$W/ctl.sock" -o json
run "--flows, names" -s "$W/ctl.sock" --flows
run "--to \"app == 'db'\", names" -s "$W/ctl.sock" --to "app == 'db'"
