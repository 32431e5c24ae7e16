#!/bin/bash
# verify_test.sh: `bulkhead verify` sends real probes between containers
# and compares what the kernel did with what the policies promise.
#  - on a dual-stack network, with bulkheadd enforcing a policy (an
#    allow, a deny ordered before it, a default deny on ingress and
#    egress, ICMP echo allowed to one peer) and a quarantined container,
#    every probe of the full sample (IPv4 and IPv6) is as promised: exit 0, text and JSON checked (promised verdicts and
#    deciding rules, observations, counts), probes in parallel (the run
#    takes about one timeout, not one per probe);
#  - --sample bounds the probes, --seed makes the sample reproducible,
#    --to keeps the probes to one container;
#  - the kernel made to disagree on purpose (a table of the test's own
#    dropping api -> db:5432 before bulkhead's chains, IPv4 and IPv6):
#    verify reports those two mismatches, and only them, and exits 1;
#    back to 0 once removed;
#  - explain names the quarantine as verify does;
#  - usage errors exit 2, no daemon exits 3.
. "$(dirname "$0")/lib.sh"
need_root

GROUP=121
BULKHEADD=${BULKHEADD:-$B/bulkheadd}
TABLE=bhverify_test
NET=bhverify-net
SUB4=10.213.88
SUB6=fd00:b4:88:
W=$(mktemp -d /tmp/bulkhead-e2e.XXXXXX)
RULES=$W/rules STATE=$W/state SOCK=$W/control.sock
mkdir -p "$RULES"
chmod 755 "$W" "$RULES"
DPID=

teardown() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	nft delete table inet $TABLE 2>/dev/null
	"$B/bulkheadd" --flush >/dev/null 2>&1
	cleanup_containers
	docker network rm "$NET" >/dev/null 2>&1
	[ -n "$KEEP" ] && echo "# kept $W" || rm -rf "$W"
}
trap teardown EXIT

command -v jq >/dev/null || { fail "jq is not installed"; finish; exit 1; }

cat >"$RULES/10-db.json" <<'JSON'
[
 {"apiVersion": "bulkhead/v1", "kind": "Policy",
  "metadata": {"name": "db-deny-web"},
  "spec": {"selector": "app == 'db'", "order": 10,
           "ingress": [{"action": "deny", "protocol": "tcp",
                        "source": {"selector": "app == 'web'"}}]}},
 {"apiVersion": "bulkhead/v1", "kind": "Policy",
  "metadata": {"name": "db-ingress"},
  "spec": {"selector": "app == 'db'", "order": 20,
           "ingress": [{"action": "allow", "protocol": "tcp",
                        "source": {"selector": "app in {'api', 'web'}"},
                        "destination": {"ports": [5432]}},
                       {"action": "allow", "protocol": "icmp",
                        "icmp": {"type": 8},
                        "source": {"selector": "app == 'api'"}}]}},
 {"apiVersion": "bulkhead/v1", "kind": "Policy",
  "metadata": {"name": "db-no-egress"},
  "spec": {"selector": "app == 'db'", "types": ["egress"], "egress": []}}
]
JSON
chmod 644 "$RULES"/*.json

# BULKHEAD, BULKHEADD: the binaries under test (sanitized ones may be passed).
BULKHEAD=${BULKHEAD:-$B/bulkhead}
bh() { "$BULKHEAD" -s "$SOCK" "$@"; }
in_sync() { # in_sync N: N test containers with a veth, kernel in sync
	local st
	st=$(bh -o json status) || return 1
	[ "$(jq '.in_sync' <<<"$st")" = true ] &&
	[ "$(jq '[.containers[] | select(.labels["bulkhead.test"] == "1") | select(.endpoints[0].veth != "")] | length' <<<"$st")" -ge "$1" ]
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
vctr() { # vctr NAME N LABEL CMD...: a container on $NET at .N and ::N
	local name=$1 n=$2 label=$3; shift 3
	docker_rm "$name"
	docker run -d --name "$name" --label "$TLABEL" --label "$label" \
		--network "$NET" --ip "$SUB4.$n" --ip6 "$SUB6:$n" "$IMAGE" "$@" >/dev/null
}

cleanup_containers
"$B/bulkheadd" --flush >/dev/null 2>&1
nft delete table inet $TABLE 2>/dev/null
docker network rm "$NET" >/dev/null 2>&1
if ! docker network create --ipv6 --subnet $SUB4.0/24 --subnet "$SUB6:/64" \
	--label "$TLABEL" "$NET" >/dev/null; then
	fail "cannot create the dual-stack network $NET"
	finish; exit 1
fi
vctr db 10 app=db nc -ll -p 5432 -e echo db-ok
vctr api 20 app=api sleep 1d
vctr web 30 app=web sleep 1d
vctr free 40 app=free sleep 1d
vctr iso 50 app=iso sleep 1d
declare -A IP IP6
n=10
for c in db api web free iso; do IP[$c]=$SUB4.$n; IP6[$c]=$SUB6:$n; n=$((n + 10)); done

"$BULKHEADD" --rules "$RULES" --control-socket "$SOCK" --state-dir "$STATE" \
	--foreground --nflog-group $GROUP -v >>"$W/bulkheadd.log" 2>&1 &
DPID=$!
if wait_for 20 in_sync 5; then pass "daemon knows 5 containers and is in sync"
else fail "daemon did not reach sync (log: $(tail -5 "$W/bulkheadd.log"))"; finish; exit 1; fi
bh quarantine iso --reason "verify test" >/dev/null &&
	pass "iso quarantined" || fail "cannot quarantine iso"
wait_for 10 in_sync 5 || fail "not in sync after the quarantine"

# ---- the whole sample: every probe as promised ----
t0=$(now_ms)
bh -o json verify --sample 1000 --seed 1 --timeout-ms 1000 >"$W/all.json" 2>"$W/all.err"; rc=$?
t1=$(now_ms)
J=$W/all.json
total=$(jq .total "$J" 2>/dev/null)
[ $rc -eq 0 ] && pass "verify: exit 0 ($total probes, $(jq .mismatches "$J") mismatches)" ||
	fail "verify: exit $rc: $(cat "$W/all.err"; jq -c '.probes[]? | select(.result != "ok") | {src, dst, port, protocol, verdict, observed, detail}' "$J" | head -5)"
# 5 containers, 20 pairs; ports: db's ingress mentions 5432 (for every
# source), plus one port no rule mentions, plus an echo: 3 per pair to
# db, 2 otherwise: 4*3 + 16*2 = 44, in IPv4 and in IPv6: 88.
[ "$(jq .containers "$J")" = 5 ] && [ "$(jq .pairs "$J")" = 20 ] &&
	[ "$(jq .candidates "$J")" = 88 ] && [ "$total" = 88 ] &&
	[ "$(jq '[.probes[] | select(.ip_version == 6)] | length' "$J")" = 44 ] &&
	pass "the whole sample: 5 containers, 20 pairs, 88 probes (44 over IPv6)" ||
	fail "sample: containers $(jq .containers "$J") pairs $(jq .pairs "$J") candidates $(jq .candidates "$J") total $total"
[ "$(jq .passed "$J")" = 88 ] && [ "$(jq .mismatches "$J")" = 0 ] && [ "$(jq .errors "$J")" = 0 ] &&
	[ "$(jq '[.probes[] | select(.result == "ok")] | length' "$J")" = 88 ] &&
	pass "every probe: result ok, 0 mismatches, 0 errors" ||
	fail "counts: passed $(jq .passed "$J") mismatches $(jq .mismatches "$J") errors $(jq .errors "$J")"
el=$((t1 - t0))
[ $el -lt 4000 ] && pass "88 probes with a 1000 ms timeout took $el ms (in parallel)" ||
	fail "88 probes took $el ms: not in parallel"

probe() { # probe SRC DST PORT|icmp|icmpv6 [VERSION]: the probe's JSON
	local v=${4:-4}
	[ "$3" = icmpv6 ] && v=6
	case $3 in
	icmp*) jq -c --arg s "$1" --arg d "$2" --arg p "$3" '.probes[] | select(.src == $s and .dst == $d and .protocol == $p)' "$J" ;;
	*) jq -c --arg s "$1" --arg d "$2" --argjson p "$3" --argjson v "$v" '.probes[] | select(.src == $s and .dst == $d and .port == $p and .ip_version == $v)' "$J" ;;
	esac
}
expect() { # expect SRC DST PORT[/6] VERDICT OBSERVED POLICY|- [RULE]
	local p want port=${3%/6} v=4
	[ "$port" != "$3" ] && v=6
	p=$(probe "$1" "$2" "$port" $v)
	want="$4 $5 $6 ${7:-none} ok"
	got="$(jq -r '[.verdict, .observed, (.decided_by[0].policy // .decided_by[0].quarantine // "-"), (.decided_by[0].rule // "none" | tostring), .result] | join(" ")' <<<"$p")"
	[ "$got" = "$want" ] && pass "$1 -> $2 $3: $got" || fail "$1 -> $2 $3: got '$got', want '$want' ($p)"
}
expect api db 5432 allowed delivered db-ingress 0
expect web db 5432 denied dropped db-deny-web 0
expect free db 5432 denied dropped db-deny-web
expect api db icmp allowed delivered db-ingress 1
expect web db icmp denied dropped db-deny-web
expect db api icmp denied dropped db-no-egress
expect api web icmp untouched delivered -
expect api iso icmp quarantined dropped iso
expect iso free icmp quarantined dropped iso
expect api db 5432/6 allowed delivered db-ingress 0
expect web db 5432/6 denied dropped db-deny-web 0
expect api db icmpv6 denied dropped db-deny-web
expect api web icmpv6 untouched delivered -
expect web iso icmpv6 quarantined dropped iso
p=$(probe api db 5432 6)
[ "$(jq -r .saddr <<<"$p") $(jq -r .daddr <<<"$p") $(jq -r .detail <<<"$p")" = "${IP6[api]} ${IP6[db]} connected" ] &&
	pass "api -> db 5432 over IPv6: from api's to db's IPv6 address, connected" ||
	fail "api -> db 5432 over IPv6: $p"
p=$(probe api db 5432)
[ "$(jq -r .detail <<<"$p")" = connected ] && [ "$(jq -r .daddr <<<"$p")" = "${IP[db]}" ] &&
	[ "$(jq -r .saddr <<<"$p")" = "${IP[api]}" ] &&
	jq -r '.decided_by[0].location' <<<"$p" | grep -q "10-db.json:" &&
	pass "api -> db 5432: connected to db's listener; addresses and rule location" ||
	fail "api -> db 5432: $p"
p=$(jq -c '[.probes[] | select(.src == "api" and .dst == "web" and .protocol == "tcp" and .ip_version == 4)][0]' "$J")
[ "$(jq -r .detail <<<"$p")" = "refused (RST)" ] && [ "$(jq -r .observed <<<"$p")" = delivered ] &&
	pass "a port nobody listens on: refused, counted as delivered" || fail "api -> web: $p"
free_port=$(jq '.port' <<<"$p")
[ "$(jq --argjson f "$free_port" '[.probes[] | select(.protocol == "tcp" and .port != 5432 and .port != $f)] | length' "$J")" = 0 ] &&
	pass "TCP probes: 5432 (mentioned) and $free_port (mentioned by no rule) only" ||
	fail "unexpected ports: $(jq -c '[.probes[].port] | unique' "$J")"
[ "$(jq -r '.probes[] | select(.verdict == "denied") | .detail' "$J" | sort -u)" = "no answer in 1000 ms" ] &&
	pass "denied probes: no answer within the timeout" ||
	fail "denied probes' details: $(jq -r '.probes[] | select(.verdict == "denied") | .detail' "$J" | sort -u | tr '\n' ,)"

# explain agrees: the quarantine decides, before the policies.
out=$(bh -o json explain api iso --port 80); rc=$?
[ $rc -eq 1 ] && [ "$(jq -r '.verdict + " " + .quarantine.container + " " + .quarantine.reason' <<<"$out")" = "quarantined iso verify test" ] &&
	bh explain api iso --port 80 | grep -q "^verdict: DENIED by the quarantine of iso (verify test)" &&
	pass "explain api -> iso: denied by the quarantine, exit 1" || fail "explain api -> iso: exit $rc, $(jq -c '{verdict, quarantine}' <<<"$out")"

# ---- text output ----
bh verify --sample 1000 --seed 1 --timeout-ms 500 >"$W/all.txt" 2>&1; rc=$?
[ $rc -eq 0 ] && tail -1 "$W/all.txt" | grep -q "^verify: 88 probes: 88 as promised, 0 mismatches, 0 errors$" &&
	pass "text: summary line, exit 0" || fail "text: exit $rc, $(tail -1 "$W/all.txt")"
grep -q "^OK  *web -> db ${IP[db]}:5432/tcp: expected denied, dropped (no answer in 500 ms); ingress db-deny-web rule 0 at .*10-db.json:" "$W/all.txt" &&
	pass "text: a probe line names the verdict, the observation and the deciding rule" ||
	fail "text: $(grep "web -> db" "$W/all.txt" | head -2)"
grep -q "^OK  *api -> web ${IP6[web]} icmpv6 echo: expected allowed, delivered (echo reply); no policy selects either end$" "$W/all.txt" &&
	grep -q "^OK  *api -> db \[${IP6[db]}\]:5432/tcp: expected allowed, delivered (connected); ingress db-ingress rule 0" "$W/all.txt" &&
	pass "text: IPv6 probes" || fail "text IPv6: $(grep "${IP6[db]}\|${IP6[web]}" "$W/all.txt" | head -3)"
head -1 "$W/all.txt" | grep -q "^verify: 88 probes of 88 candidates (5 containers, 20 pairs.*seed 1" &&
	pass "text: header with the sample and the seed" || fail "text header: $(head -1 "$W/all.txt")"

# ---- --sample and --seed ----
bh -o json verify --sample 7 --seed 42 --timeout-ms 300 >"$W/s1.json"; rc1=$?
bh -o json verify --sample 7 --seed 42 --timeout-ms 300 >"$W/s2.json"; rc2=$?
bh -o json verify --sample 7 --seed 43 --timeout-ms 300 >"$W/s3.json"
sel='[.probes[] | [.src, .dst, .protocol, (.port // 0)]]'
[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ "$(jq .total "$W/s1.json")" = 7 ] &&
	[ "$(jq -c "$sel" "$W/s1.json")" = "$(jq -c "$sel" "$W/s2.json")" ] &&
	pass "--sample 7 --seed 42: 7 probes, the same twice" ||
	fail "--sample/--seed: exits $rc1 $rc2, totals $(jq .total "$W/s1.json") / $(jq -c "$sel" "$W/s1.json") vs $(jq -c "$sel" "$W/s2.json")"
[ "$(jq -c "$sel" "$W/s1.json")" != "$(jq -c "$sel" "$W/s3.json")" ] &&
	pass "another seed, another sample" || fail "seeds 42 and 43 gave the same sample"

# ---- --to, --from ----
bh -o json verify --to db --seed 1 --timeout-ms 300 >"$W/to.json"; rc=$?
[ $rc -eq 0 ] && [ "$(jq .total "$W/to.json")" = 24 ] &&
	[ "$(jq -r '[.probes[].dst] | unique | join(",")' "$W/to.json")" = db ] &&
	pass "--to db: the 24 probes to db, all as promised" ||
	fail "--to db: exit $rc, total $(jq .total "$W/to.json"), dsts $(jq -c '[.probes[].dst] | unique' "$W/to.json")"
bh verify --from nosuch >/dev/null 2>"$W/err"; rc=$?
[ $rc -eq 1 ] && grep -q "from nosuch: no such container" "$W/err" &&
	pass "--from an unknown container: exit 1 with the reason" || fail "--from nosuch: exit $rc, $(cat "$W/err")"

# ---- the kernel disagrees: a table of ours drops api -> db:5432 first ----
# (bulkhead's own tables belong to bulkheadd: nobody else may change them)
nft -f - <<NFT || fail "cannot create table inet $TABLE"
table inet $TABLE {
	chain early_drop {
		type filter hook forward priority -20; policy accept;
		ip saddr ${IP[api]} ip daddr ${IP[db]} tcp dport 5432 drop
		ip6 saddr ${IP6[api]} ip6 daddr ${IP6[db]} tcp dport 5432 drop
	}
}
NFT
bh -o json verify --sample 1000 --seed 1 --timeout-ms 1000 >"$W/bad.json" 2>"$W/bad.err"; rc=$?
J=$W/bad.json
[ $rc -eq 1 ] && pass "kernel drops an allowed flow: verify exits 1" || fail "mismatch: exit $rc ($(cat "$W/bad.err"))"
[ "$(jq .mismatches "$J")" = 2 ] && [ "$(jq .passed "$J")" = 86 ] &&
	[ "$(jq -c '[.probes[] | select(.result == "mismatch") | [.src, .dst, .port, .ip_version, .verdict, .observed]]' "$J")" = '[["api","db",5432,4,"allowed","dropped"],["api","db",5432,6,"allowed","dropped"]]' ] &&
	pass "the two mismatches reported: api -> db 5432 allowed, dropped (IPv4, IPv6)" ||
	fail "mismatches: $(jq -c '[.probes[] | select(.result != "ok") | [.src, .dst, .port, .verdict, .observed]]' "$J")"
bh verify --sample 1000 --seed 1 --timeout-ms 500 >"$W/bad.txt" 2>&1; rc=$?
[ $rc -eq 1 ] && grep -q "^MISMATCH api -> db ${IP[db]}:5432/tcp: expected allowed, dropped (no answer in 500 ms); ingress db-ingress rule 0" "$W/bad.txt" &&
	tail -1 "$W/bad.txt" | grep -q "86 as promised, 2 mismatches" &&
	pass "text: MISMATCH line and summary" || fail "text mismatch: exit $rc, $(grep -v '^OK' "$W/bad.txt" | head -3)"
nft delete table inet $TABLE
bh verify --sample 1000 --seed 1 --timeout-ms 500 >/dev/null 2>&1; rc=$?
[ $rc -eq 0 ] && pass "table removed: verify exits 0 again" || fail "after removal: exit $rc"

# ---- errors ----
bh verify --sample 0 >/dev/null 2>"$W/err"; rc=$?
[ $rc -eq 2 ] && grep -q -- "--sample: expected a number" "$W/err" && pass "--sample 0: exit 2" ||
	fail "--sample 0: exit $rc, $(cat "$W/err")"
bh verify --timeout-ms 20000 >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && pass "--timeout-ms 20000: exit 2" || fail "--timeout-ms 20000: exit $rc"
"$BULKHEAD" -s "$W/none.sock" verify >/dev/null 2>&1; rc=$?
[ $rc -eq 3 ] && pass "no daemon: exit 3" || fail "no daemon: exit $rc"
bh verify --help | grep -q "exit: 0 every probe as promised" && pass "verify --help documents the exit codes" ||
	fail "verify --help"

finish
