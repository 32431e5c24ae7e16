#!/bin/bash
# capture_test.sh: bulkhead-capture against the real kernel, no Docker.
# A table of our own logs what the host sends to 127.0.0.2 (rate-limited,
# NFLOG group 77, a bulkhead prefix) and, without a limit, UDP to
# 127.0.0.3 for the loss test.  Checks: -c 3 -o json exits by itself with
# the right fields (prefix parsed, dports right); -w writes a pcap tshark
# reads with the same packets; -r reads it back, filters apply; text lines
# for UDP and ICMP; SIGTERM prints the stats; an overrun while the reader
# is stopped is reported, never silent, and every lost record counted
# (read + lost = what the rule logged, by the kernel's sequence numbers);
# JSON ends with a summary object.  Deletes its table on exit.
. "$(dirname "$0")/lib.sh"
need_root

CAP=$B/bulkhead-capture
GROUP=77
TABLE=bh_capture_test
W=$(mktemp -d /tmp/bulkhead-capture.XXXXXX)
chmod 755 "$W"
CPID=

teardown() {
	[ -n "$CPID" ] && kill -CONT "$CPID" 2>/dev/null
	[ -n "$CPID" ] && kill "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
	nft delete table inet $TABLE 2>/dev/null
	rm -rf "$W"
}
trap teardown EXIT

if [ ! -x "$CAP" ]; then
	fail "$CAP is not built"
	finish
	exit 1
fi
for tool in jq tshark nc nft; do
	command -v $tool >/dev/null || fail "$tool is not installed"
done
[ "$nfail" -eq 0 ] || { finish; exit 1; }

nft delete table inet $TABLE 2>/dev/null
nft -f - <<NFT || { fail "cannot create table inet $TABLE"; finish; exit 1; }
table inet $TABLE {
	chain output {
		type filter hook output priority 0; policy accept;
		ip daddr 127.0.0.2 limit rate 100/second burst 50 packets log group $GROUP prefix "bh|D|I|0|e2e"
		ip daddr 127.0.0.3 udp dport 9 counter log group $GROUP prefix "bh|A|E|*|burst"
	}
}
NFT

# bound: the capture listens on our group (the kernel lists its instance).
bound() { awk -v g=$GROUP '$1 == g { f = 1 } END { exit !f }' /proc/net/netfilter/nfnetlink_log; }

# start_capture OUT ARGS...: in the background, stdout to OUT, stderr to OUT.err
start_capture() {
	local out=$1; shift
	"$CAP" -n -g $GROUP "$@" >"$out" 2>"$out.err" &
	CPID=$!
	if ! wait_for 5 bound; then
		fail "capture did not bind group $GROUP: $(cat "$out.err")"
		return 1
	fi
}

# stop_capture: waits up to 10 s for it to end by itself; returns its status.
stop_capture() {
	local i rc
	for i in $(seq 100); do
		kill -0 "$CPID" 2>/dev/null || break
		sleep 0.1
	done
	kill "$CPID" 2>/dev/null
	wait "$CPID"; rc=$?
	CPID=
	return $rc
}

# ---- -c 3 -o json -w FILE
J=$W/events.json
PCAP=$W/denied.pcap
if start_capture "$J" -c 3 -o json -w "$PCAP"; then
	for port in 8001 8002 8003; do nc -z -w 1 127.0.0.2 $port; done
	if stop_capture; then pass "-c 3 exits by itself with status 0"
	else fail "-c 3: exit status $? ($(cat "$J.err"))"; fi
fi
[ "$(wc -l <"$J")" -eq 4 ] && pass "-c 3 printed 3 lines and the summary" ||
	fail "-c 3 printed $(wc -l <"$J") lines: $(cat "$J" "$J.err")"
jq -e . "$J" >/dev/null 2>&1 && pass "every line is JSON" ||
	fail "output is not JSON: $(head -3 "$J")"
check "the last line is the summary: 3 records, numbered, none lost" jq -e -s '.[-1] |
	.event == "summary" and .records == 3 and .shown == 3 and .lost == 0 and
	.sequenced == 3 and .malformed == 0 and .overruns == 0 and .kernel == null' "$J"
# The packets, for the checks below.
jq -c 'select(.event == "packet")' "$J" >"$J.packets"
J=$J.packets
FIELDS='event time group verdict direction policy rule prefix family ethertype
	proto src sport dst dport src_name dst_name icmp_type icmp_code tcp_flags
	fragment indev outdev physindev physoutdev mark uid gid len seq'
# jq ... --args F...: true when every object has every field F.
if jq -e -s 'length > 0 and all(.[]; . as $o |
	all($ARGS.positional[]; . as $k | $o | has($k)))' "$J" --args $FIELDS >/dev/null; then
	pass "every documented field is present"
else
	fail "fields missing: $(jq -r -s '.[0] as $o | $ARGS.positional[] |
		select(. as $k | $o | has($k) | not)' "$J" --args $FIELDS | tr '\n' ' ')"
fi
check "prefix parsed: denied ingress policy e2e rule 0" jq -e -s 'all(.[];
	.event == "packet" and .verdict == "denied" and .direction == "ingress"
	and .policy == "e2e" and .rule == 0 and .prefix == "bh|D|I|0|e2e"
	and .group == 77)' "$J"
check "addresses, proto and SYN flag" jq -e -s 'all(.[];
	.family == "ipv4" and .proto == "tcp" and .src == "127.0.0.1"
	and .dst == "127.0.0.2" and .tcp_flags == "S" and .sport > 1023
	and .outdev == "lo" and .icmp_type == null and .fragment == false)' "$J"
dports=$(jq -s -c 'map(.dport)' "$J")
[ "$dports" = "[8001,8002,8003]" ] && pass "dports are 8001 8002 8003" ||
	fail "dports are $dports"
grep -q "3 records read, 3 shown, 0 malformed, 0 lost in the socket, 0 socket buffer overruns" "${J%.packets}.err" &&
	pass "stats on exit: 3 records, no drops" ||
	fail "stats on exit: $(cat "${J%.packets}.err")"

# ---- the pcap file, read by tshark and by -r
n=$(tshark -r "$PCAP" 2>/dev/null | wc -l)
[ "$n" -eq 3 ] && pass "tshark reads 3 packets from the -w file" ||
	fail "tshark reads $n packets from the -w file"
t=$(tshark -r "$PCAP" -T fields -e nflog.prefix -e tcp.dstport 2>/dev/null | tr '\t\n' ' ')
[ "$t" = "bh|D|I|0|e2e 8001 bh|D|I|0|e2e 8002 bh|D|I|0|e2e 8003 " ] &&
	pass "tshark sees our prefix and the dports" || fail "tshark sees: $t"
"$CAP" -r "$PCAP" -o json >"$W/r.json" 2>"$W/r.err"
[ "$(jq -s -c 'map(select(.event == "packet") | .dport)' "$W/r.json")" = "[8001,8002,8003]" ] &&
	pass "-r reads the -w file back" || fail "-r: $(cat "$W/r.json" "$W/r.err")"
[ "$("$CAP" -r "$PCAP" --port 8002 2>/dev/null | wc -l)" -eq 1 ] &&
	pass "--port filters" || fail "--port 8002 did not give one line"
[ "$("$CAP" -r "$PCAP" --policy other --proto tcp 2>/dev/null | wc -l)" -eq 0 ] &&
	pass "--policy filters" || fail "--policy other matched"
"$CAP" -r "$PCAP" -c 1 2>/dev/null | grep -Eq \
	'^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} denied 127\.0\.0\.1:[0-9]+ → 127\.0\.0\.2:8001 tcp e2e/0 ingress \[S\] out lo$' &&
	pass "text line: time verdict src → dst proto policy/rule dir flags" ||
	fail "text line: $("$CAP" -r "$PCAP" -c 1 2>&1)"

[ "$("$CAP" -r "$PCAP" 'tcp dst port 8003' 2>/dev/null | grep -c ':8003 tcp')" -eq 1 ] &&
	pass "BPF expression on the payload filters" ||
	fail "BPF 'tcp dst port 8003': $("$CAP" -r "$PCAP" 'tcp dst port 8003' 2>&1)"
[ "$("$CAP" -r "$PCAP" not tcp 2>/dev/null | wc -l)" -eq 0 ] &&
	pass "BPF expression in several words (not tcp)" || fail "BPF 'not tcp' matched"
"$CAP" -r "$PCAP" 'tcp port' >/dev/null 2>"$W/bpf.err" &&
	fail "bad BPF expression accepted" ||
	{ grep -q "bad filter expression" "$W/bpf.err" && pass "bad BPF expression refused" ||
	fail "bad BPF expression: $(cat "$W/bpf.err")"; }
# Without bulkheadd: addresses, and one warning however many events.
"$CAP" -r "$PCAP" -s "$W/none.sock" >"$W/nod.txt" 2>"$W/nod.err"
[ "$(grep -c "no container names" "$W/nod.err")" -eq 1 ] &&
	[ "$(grep -c "127\.0\.0\.1:[0-9]* → 127\.0\.0\.2:800[123] tcp e2e/0" "$W/nod.txt")" -eq 3 ] &&
	pass "without bulkheadd: addresses and one warning" ||
	fail "without bulkheadd: $(cat "$W/nod.txt" "$W/nod.err")"

# ---- UDP and ICMP as text, ended by SIGTERM
T=$W/events.txt
if start_capture "$T"; then
	echo x | nc -u -w 1 127.0.0.2 5353
	if command -v python3 >/dev/null; then
		python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.sendto(bytes([8, 0, 0xf7, 0xfe, 0, 1, 0, 0]), ("127.0.0.2", 0))'
	fi
	wait_for 5 grep -q "icmp\|udp" "$T"
	sleep 0.3
	kill -TERM "$CPID"
	wait "$CPID"; rc=$?
	CPID=
	[ $rc -eq 0 ] && pass "SIGTERM ends the capture with status 0" ||
		fail "SIGTERM: exit status $rc"
fi
grep -q "127\.0\.0\.2:5353 udp e2e/0 ingress" "$T" && pass "text line for UDP" ||
	fail "no UDP line: $(cat "$T")"
if command -v python3 >/dev/null; then
	grep -q "127\.0\.0\.1 → 127\.0\.0\.2 icmp e2e/0 ingress type 8 code 0" "$T" &&
		pass "text line for ICMP echo" || fail "no ICMP line: $(cat "$T")"
fi
grep -q "records read" "$T.err" && pass "stats printed on SIGTERM" ||
	fail "no stats on SIGTERM: $(cat "$T.err")"

# ---- loss is reported: stop the reader, overflow its 64 KiB buffer.
# Every record the rule logged is either read or counted as lost.
L=$W/loss.json
if start_capture "$L" -o json -B 64 --verdict audit; then
	kill -STOP "$CPID"
	for i in $(seq 4000); do echo x >/dev/udp/127.0.0.3/9; done 2>/dev/null
	kill -CONT "$CPID"
	sleep 2.5	# the kernel sends a partial batch after 1 s
	kill -INT "$CPID"
	wait "$CPID"
	CPID=
fi
logged=$(nft list table inet $TABLE | sed -n 's/.*127\.0\.0\.3.*counter packets \([0-9]*\).*/\1/p')
got=$(jq -s 'map(select(.event == "packet")) | length' "$L")
drops=$(jq -s 'map(select(.event == "summary"))[0].overruns' "$L")
lost=$(jq -s 'map(select(.event == "summary"))[0].lost' "$L")
# The kernel numbers the records: the gaps are the records lost, exactly.
if [ "${drops:-0}" -gt 0 ] && [ "$got" -lt "${logged:-0}" ] &&
	[ $((got + lost)) -eq "$logged" ]; then
	pass "overrun counted on exit: $got read + $lost lost = $logged logged, $drops overruns"
elif [ "$got" = "$logged" ]; then
	fail "no overrun happened: $got of $logged records read (buffer too large?)"
else
	fail "records lost silently: $got read + ${lost:-?} lost of $logged logged: $(cat "$L.err")"
fi
check "overrun reported in the event stream" \
	jq -e -s 'any(.[]; .event == "loss" and .overruns > 0)' "$L"
check "lost records reported in the event stream (sequence gap)" \
	jq -e -s '[.[] | select(.event == "loss") | .records // 0] | add == '"${lost:-x}"' and '"${lost:-0}"' > 0' "$L"

nft delete table inet $TABLE && pass "table inet $TABLE deleted" ||
	fail "cannot delete table inet $TABLE"
finish
