#!/bin/bash
# explain_test.sh: `bulkhead explain` agrees with the kernel.  Labelled
# containers, bulkheadd on a rules directory, and for each pair a real TCP
# connection next to explain's verdict: an allowed pair, pairs denied by an
# explicit deny rule, by a default deny (ingress and egress), an untouched
# pair, and an audit policy that would deny (the packet passes and is
# logged as audit).  For denied pairs the policy explain names is the one
# bulkhead-capture shows for the dropped packet.  The same answers offline
# (--rules, --inventory from status -o json), by address, and the errors.
. "$(dirname "$0")/lib.sh"
need_root

GROUP=113
# BULKHEADD: the daemon binary under test (a sanitized one may be passed).
BULKHEADD=${BULKHEADD:-$B/bulkheadd}
W=$(mktemp -d /tmp/bulkhead-e2e.XXXXXX)
RULES=$W/rules
SOCK=$W/control.sock
mkdir -p "$RULES"
chmod 755 "$W" "$RULES"
DPID=
CPID=

teardown() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	[ -n "$CPID" ] && kill "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
	"$B/bulkheadd" --flush >/dev/null 2>&1
	cleanup_containers
	rm -rf "$W"
}
trap teardown EXIT

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
                        "source": {"selector": "app == 'api'"},
                        "destination": {"ports": [5432]}}]}},
 {"apiVersion": "bulkhead/v1", "kind": "Policy",
  "metadata": {"name": "db-no-egress"},
  "spec": {"selector": "app == 'db'", "types": ["egress"], "egress": []}}
]
JSON
cat >"$RULES/20-aud.json" <<'JSON'
{"apiVersion": "bulkhead/v1", "kind": "Policy",
 "metadata": {"name": "aud-watch"},
 "spec": {"selector": "app == 'aud'", "mode": "audit",
          "ingress": [{"action": "allow", "protocol": "tcp",
                       "destination": {"ports": [1]}}]}}
JSON
chmod 644 "$RULES"/*.json

in_sync() { # in_sync N: the daemon knows N test containers and the kernel is in sync
	local st
	st=$("$B/bulkhead" -s "$SOCK" -o json status) || return 1
	[ "$(jq '.in_sync' <<<"$st")" = true ] &&
	[ "$(jq '[.containers[] | select(.labels["bulkhead.test"] == "1") | select(.endpoints[0].veth != "")] | length' <<<"$st")" -ge "$1" ]
}

cleanup_containers
"$B/bulkheadd" --flush >/dev/null 2>&1
run_ctr db app=db nc -ll -p 5432 -e echo db-ok
run_ctr api app=api sleep 1d
run_ctr web app=web sleep 1d
run_ctr intruder app=intruder sleep 1d
run_ctr free app=free nc -ll -p 7000 -e echo free-ok
run_ctr aud app=aud nc -ll -p 7000 -e echo aud-ok
declare -A IP
for c in db api web intruder free aud; do IP[$c]=$(ctr_ip $c); done

"$B/bulkhead-capture" -g $GROUP >"$W/capture.txt" 2>"$W/capture.err" &
CPID=$!
"$BULKHEADD" --rules "$RULES" --control-socket "$SOCK" --foreground \
	--nflog-group $GROUP -v >>"$W/bulkheadd.log" 2>&1 &
DPID=$!
if wait_for 20 in_sync 6; then pass "daemon knows 6 containers and is in sync"
else fail "daemon did not reach sync (log: $(tail -5 "$W/bulkheadd.log"))"; fi

# explain_vs_kernel SRC DST PORT VERDICT [POLICY]: explain's verdict is
# VERDICT (and the deciding/auditing policy POLICY), its exit status
# matches, and a real connection passes exactly when explain allows it.
explain_vs_kernel() {
	local src=$1 dst=$2 port=$3 want=$4 pol=${5:-} out rc verdict allowed reply real
	out=$("$B/bulkhead" -s "$SOCK" -o json explain "$src" "$dst" --port "$port"); rc=$?
	verdict=$(jq -r .verdict <<<"$out" 2>/dev/null)
	allowed=$(jq -r .allowed <<<"$out" 2>/dev/null)
	echo "$out" >"$W/explain-$src-$dst.json"
	[ "$verdict" = "$want" ] && pass "explain $src -> $dst:$port: $verdict" ||
		fail "explain $src -> $dst:$port: verdict '$verdict', want $want (exit $rc)"
	case "$allowed/$rc" in
	true/0|false/1) pass "explain $src -> $dst:$port: exit $rc" ;;
	*) fail "explain $src -> $dst:$port: exit $rc with allowed=$allowed" ;;
	esac
	reply=$(tcp_reply "$src" "${IP[$dst]}" "$port")
	[ -n "$reply" ] && real=true || real=false
	[ "$real" = "$allowed" ] && pass "kernel agrees on $src -> $dst:$port (connection passed: $real)" ||
		fail "kernel disagrees on $src -> $dst:$port: explain allowed=$allowed, connection passed=$real"
	if [ -n "$pol" ]; then
		local named
		named=$(jq -r '(.denied_by.policy // .would_deny[0].policy // .ingress.policy) // ""' <<<"$out")
		[ "$named" = "$pol" ] && pass "explain $src -> $dst:$port names policy $pol" ||
			fail "explain $src -> $dst:$port names '$named', want $pol"
	fi
}

explain_vs_kernel api db 5432 allowed db-ingress
explain_vs_kernel web db 5432 denied db-deny-web
# A default deny is logged under the first enforce policy selecting db.
explain_vs_kernel intruder db 5432 denied db-deny-web
explain_vs_kernel db free 7000 denied db-no-egress
explain_vs_kernel web free 7000 untouched
explain_vs_kernel web aud 7000 audit-would-deny aud-watch

# ICMP echo: denied to db (no rule allows it), untouched to free.
icmp_vs_kernel() { # icmp_vs_kernel SRC DST VERDICT
	local out verdict allowed real
	out=$("$B/bulkhead" -s "$SOCK" -o json explain "$1" "$2" --proto icmp --icmp-type 8 --icmp-code 0)
	verdict=$(jq -r .verdict <<<"$out"); allowed=$(jq -r .allowed <<<"$out")
	[ "$verdict" = "$3" ] && pass "explain icmp echo $1 -> $2: $verdict" ||
		fail "explain icmp echo $1 -> $2: '$verdict', want $3"
	docker exec "$1" ping -c 1 -W 2 "${IP[$2]}" >/dev/null 2>&1 && real=true || real=false
	[ "$real" = "$allowed" ] && pass "kernel agrees on icmp echo $1 -> $2 (passed: $real)" ||
		fail "kernel disagrees on icmp echo $1 -> $2: explain allowed=$allowed, ping passed=$real"
}
icmp_vs_kernel web db denied
icmp_vs_kernel web free untouched

j=$W/explain-web-db.json
[ "$(jq -r .denied_by.rule "$j")" = 0 ] &&
	[ "$(jq -r .denied_by.direction "$j")" = ingress ] &&
	jq -r .denied_by.location "$j" | grep -q "10-db.json:5:" &&
	pass "web -> db: denied by ingress rule 0 at 10-db.json:5" ||
	fail "web -> db: denied_by $(jq -c .denied_by "$j")"
[ "$(jq -r .ingress.reason "$W/explain-intruder-db.json")" = default-deny ] &&
	pass "intruder -> db: default deny" || fail "intruder -> db: reason $(jq -r .ingress.reason "$W/explain-intruder-db.json")"
[ "$(jq -r .denied_by.direction "$W/explain-db-free.json")" = egress ] &&
	pass "db -> free: denied on db's egress" || fail "db -> free: $(jq -c .denied_by "$W/explain-db-free.json")"

gen=$("$B/bulkhead" -s "$SOCK" -o json status | jq .generation)
[ "$(jq .generation "$W/explain-api-db.json")" = "$gen" ] && [ "$gen" -ge 1 ] &&
	pass "explain answers on the daemon's current rules (generation $gen)" ||
	fail "explain generation $(jq .generation "$W/explain-api-db.json"), status $gen"

# What the kernel logged names the policy explain named.
logged() { # logged SRC DST PORT POLICY
	wait_for 5 grep -q "${IP[$1]}.*${IP[$2]}:$3.*$4" "$W/capture.txt"
}
logged web db 5432 db-deny-web && pass "capture: web -> db:5432 dropped by db-deny-web, as explained" ||
	fail "capture lacks web -> db:5432 by db-deny-web: $(grep "${IP[db]}:5432" "$W/capture.txt" | head -3)"
logged intruder db 5432 db-deny-web && pass "capture: intruder -> db:5432 dropped (default deny) under db-deny-web, as explained" ||
	fail "capture lacks intruder -> db:5432 by db-deny-web: $(grep "${IP[intruder]}" "$W/capture.txt" | head -3)"
logged db free 7000 db-no-egress && pass "capture: db -> free:7000 dropped by db-no-egress, as explained" ||
	fail "capture lacks db -> free:7000 by db-no-egress"
if wait_for 5 grep -q "audit.*${IP[web]}.*${IP[aud]}:7000.*aud-watch\|${IP[web]}.*${IP[aud]}:7000.*audit.*aud-watch" "$W/capture.txt"; then
	pass "capture: web -> aud:7000 logged as audit by aud-watch, as explained"
else
	fail "capture lacks the audit of web -> aud:7000: $(grep "${IP[aud]}" "$W/capture.txt" | head -3)"
fi

# Text output: readable verdict naming the policy and the file:line.
txt=$("$B/bulkhead" -s "$SOCK" explain web db --port 5432)
grep -q "^verdict: DENIED by policy db-deny-web (ingress of db, rule #0 at .*10-db.json:5:" <<<"$txt" &&
	pass "text: verdict line names policy, rule and location" ||
	fail "text: $(tail -1 <<<"$txt")"
grep -q "no match: source intruder does not match \[app == 'api'\]" <<<"$("$B/bulkhead" -s "$SOCK" explain intruder db -p 5432)" &&
	pass "text: says why a rule did not match" || fail "text: no why-not line"

# By address, the same answer as by name.
a=$("$B/bulkhead" -s "$SOCK" -o json explain "${IP[web]}" "${IP[db]}" --port 5432 | jq -c '{verdict, denied_by, s: .source.name, d: .destination.name}')
[ "$a" = "$(jq -c '{verdict, denied_by, s: .source.name, d: .destination.name}' "$W/explain-web-db.json")" ] &&
	pass "explain by address resolves the containers" || fail "explain by address: $a"

# Offline on the daemon's inventory: the same answers.
"$B/bulkhead" -s "$SOCK" -o json status >"$W/inventory.json"
same=1
for p in "api db 5432" "web db 5432" "intruder db 5432" "db free 7000" "web free 7000" "web aud 7000"; do
	set -- $p
	off=$("$B/bulkhead" -o json explain --rules "$RULES" --inventory "$W/inventory.json" "$1" "$2" -p "$3" | jq -c '{verdict, allowed, denied_by: .denied_by.policy}')
	on=$(jq -c '{verdict, allowed, denied_by: .denied_by.policy}' "$W/explain-$1-$2.json")
	[ "$off" = "$on" ] || { same=0; fail "offline explain $1 -> $2: $off, online $on"; }
done
[ $same = 1 ] && pass "offline explain (--rules, --inventory) agrees with the daemon on 6 pairs"

# Errors: unknown container exits 2; no daemon exits 3; --help exits 0.
"$B/bulkhead" -s "$SOCK" explain nosuch db -p 5432 >/dev/null 2>"$W/err"; rc=$?
[ $rc -eq 2 ] && grep -q "nosuch: no container" "$W/err" && pass "unknown container: exit 2 with the reason" ||
	fail "unknown container: exit $rc, $(cat "$W/err")"
"$B/bulkhead" -s "$W/none.sock" explain web db >/dev/null 2>&1; rc=$?
[ $rc -eq 3 ] && pass "no daemon: exit 3" || fail "no daemon: exit $rc"
"$B/bulkhead" explain --help | grep -q "exit: 0 allowed" && pass "explain --help documents the exit codes" ||
	fail "explain --help"

finish
