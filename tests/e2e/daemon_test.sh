#!/bin/bash
# daemon_test.sh: bulkheadd without --foreground.  It runs in a mount
# namespace of its own whose /dev holds only null, urandom and a log
# socket served by the test, so that its syslog messages are
# caught without touching the host's /dev/log (python3 reads it).  Checks:
#   - it detaches: the command returns 0 once the daemon runs, in a
#     session of its own, with its pid in the pid file (--pidfile);
#   - it logs to syslog (facility daemon, with levels), nothing to the
#     terminal once started; SIGHUP's reload is logged there too;
#   - a second instance on the same pid file refuses to start (exit 1,
#     naming the running one's pid), detached or in the foreground, and
#     leaves the running one's control socket alone;
#   - a start-up failure after detaching (a bad --metrics-listen) makes
#     the command exit 1 with the reason on stderr;
#   - a stale pid file (no lock, a dead pid) is taken over;
#   - SIGTERM: the daemon exits, removes its pid file, the tables stay;
#   - sd_notify: READY=1 once the ruleset is in the kernel, RELOADING=1 and
#     READY=1 around SIGHUP, STOPPING=1 on exit.
# Run as root holding the lock: flock /tmp/bulkhead-e2e.lock bash tests/e2e/daemon_test.sh
. "$(dirname "$0")/lib.sh"
need_root

GROUP=108
W=$(mktemp -d /tmp/bulkhead-daemon.XXXXXX)
RULES=$W/rules
SOCK=$W/control.sock
PIDF=$W/run/bulkheadd.pid
mkdir -p "$RULES"
chmod 755 "$W" "$RULES"
LOGPID=
NPID=

teardown() {
	local p
	for p in $(cat "$W"/*.pidlist 2>/dev/null); do	# still bulkheadd: ours
		[ "$(cat /proc/"$p"/comm 2>/dev/null)" = bulkheadd ] && kill "$p"
	done
	[ -n "$LOGPID" ] && kill "$LOGPID" 2>/dev/null && wait "$LOGPID" 2>/dev/null
	[ -n "$NPID" ] && kill "$NPID" 2>/dev/null
	"$B/bulkheadd" --flush >/dev/null 2>&1
	rm -rf "$W"
}
trap teardown EXIT

for tool in python3 unshare jq; do
	command -v $tool >/dev/null || { fail "$tool is not installed"; finish; exit 1; }
done

cat >"$RULES/10-db.json" <<'JSON'
{"apiVersion": "bulkhead/v1", "kind": "Policy", "metadata": {"name": "db-ingress"},
 "spec": {"selector": "app == 'db'", "ingress": []}}
JSON
chmod 644 "$RULES/10-db.json"

# The syslog socket: one datagram per message, written one a line.
python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "a") as f:
    while True:
        f.write(s.recv(65536).decode(errors="replace").rstrip("\n") + "\n")
        f.flush()
' "$W/log.sock" "$W/syslog" 2>"$W/logger.err" &
LOGPID=$!
wait_for 5 test -S "$W/log.sock" || fail "no log socket: $(cat "$W/logger.err")"
syslog_has() { grep -q -- "$1" "$W/syslog"; }

daemon_pid() { tr -d '\n' <"$PIDF" 2>/dev/null; }
# bulkheadd_ns ARGS...: bulkheadd in a mount namespace whose /dev has our
# log socket.  Every daemon that started is noted for the teardown.
bulkheadd_ns() {
	local rc
	unshare -m --propagation slave sh -c '
		mount -t tmpfs -o mode=755 none /dev &&
		mknod -m 666 /dev/null c 1 3 && mknod -m 444 /dev/urandom c 1 9 &&
		ln -s "$0" /dev/log && exec "$@"' "$W/log.sock" "$B/bulkheadd" "$@"
	rc=$?
	[ $rc -eq 0 ] && daemon_pid >>"$W/daemons.pidlist" && echo >>"$W/daemons.pidlist"
	return $rc
}
status() { "$B/bulkhead" -s "$1" -o json status 2>/dev/null; }

"$B/bulkheadd" --flush >/dev/null 2>&1

# ---- detaching
t0=$(date +%s%N)
bulkheadd_ns --rules "$RULES" --control-socket "$SOCK" --nflog-group $GROUP \
	--pidfile "$PIDF" >"$W/start.out" 2>"$W/start.err"
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
P=$(daemon_pid)
[ $rc -eq 0 ] && pass "detached start returned 0 after $ms ms" ||
	fail "detached start exited $rc: $(cat "$W/start.err")"
if [ -n "$P" ] && [ "$(cat /proc/"$P"/comm 2>/dev/null)" = bulkheadd ]; then
	pass "pid file $PIDF holds the running daemon's pid ($P)"
else
	fail "pid file holds '$P' ($(ls -l "$PIDF" 2>&1))"
fi
[ -n "$P" ] && [ "$(ps -o sid= -p "$P" | tr -d ' ')" = "$P" ] &&
	pass "the daemon leads a session of its own (setsid)" ||
	fail "the daemon's session is $(ps -o sid= -p "$P")"
[ -n "$P" ] && [ "$(readlink /proc/"$P"/fd/2)" = /dev/null ] &&
	pass "its standard error is /dev/null (in its /dev)" ||
	fail "its stderr is $(readlink /proc/"$P"/fd/2)"
if wait_for 10 sh -c "\"$B/bulkhead\" -s \"$SOCK\" -o json status | jq -e .in_sync"; then
	pass "the detached daemon answers on its control socket and is in sync"
else
	fail "no answer on $SOCK"
fi
grep -q "loaded 1 policies" "$W/start.err" && pass "before detaching it logged to stderr (rules loaded)" ||
	fail "start-up stderr: $(cat "$W/start.err")"

# ---- syslog
if wait_for 5 syslog_has "bulkheadd\[$P\]: bulkheadd .* started: rules $RULES"; then
	pass "syslog: started message with the daemon's name and pid"
else
	fail "syslog lacks the start message: $(head -c 300 "$W/syslog")"
fi
syslog_has "<30>.*bulkheadd\[$P\]: bulkheadd .* started" &&
	pass "syslog: facility daemon, level info (<30>)" ||
	fail "syslog priority: $(grep -o '<[0-9]*>[^:]*' "$W/syslog" | head -2)"
kill -HUP "$P"
wait_for 5 syslog_has "bulkheadd\[$P\]: SIGHUP: reloading $RULES" &&
	pass "syslog: SIGHUP reload logged" || fail "syslog lacks the SIGHUP reload"
printf '{"kind": \n' >"$RULES/20-bad.json"; chmod 644 "$RULES/20-bad.json"
kill -HUP "$P"
wait_for 5 syslog_has "<27>.*bulkheadd\[$P\]: reload refused" &&
	pass "syslog: a refused reload at level err (<27>)" ||
	fail "syslog lacks the refused reload: $(tail -c 300 "$W/syslog")"
rm -f "$RULES/20-bad.json"

# ---- a second instance
bulkheadd_ns --rules "$RULES" --control-socket "$W/second.sock" --nflog-group $GROUP \
	--pidfile "$PIDF" >/dev/null 2>"$W/second.err"
rc=$?
if [ $rc -eq 1 ] && grep -q "locked by a running bulkheadd (pid $P)" "$W/second.err"; then
	pass "a second detached instance on the pid file refused: $(head -1 "$W/second.err" | sed 's/^[0-9:.]* //')"
else
	fail "second instance: exit $rc, $(cat "$W/second.err")"
fi
"$B/bulkheadd" --foreground --rules "$RULES" --control-socket "$SOCK" --nflog-group $GROUP \
	--pidfile "$PIDF" >/dev/null 2>"$W/third.err" &
T=$!
echo "$T" >>"$W/daemons.pidlist"
if wait_for 5 sh -c "! kill -0 $T"; then
	wait "$T"; rc=$?
	[ $rc -eq 1 ] && grep -q "not starting a second one" "$W/third.err" &&
		pass "a second foreground instance with --pidfile refused (exit 1)" ||
		fail "foreground second instance: exit $rc, $(cat "$W/third.err")"
else
	fail "a second foreground instance on the same pid file kept running"
fi
[ "$(daemon_pid)" = "$P" ] && kill -0 "$P" && pass "the pid file and the first daemon are untouched" ||
	fail "pid file now '$(daemon_pid)'"
[ -S "$SOCK" ] && status "$SOCK" >/dev/null && pass "the first daemon's control socket still answers" ||
	fail "the first daemon's control socket was taken"

# ---- SIGTERM
kill -TERM "$P"
if wait_for 10 sh -c "! kill -0 $P"; then pass "SIGTERM: the detached daemon exited"
else fail "SIGTERM: still running"; fi
[ ! -e "$PIDF" ] && pass "SIGTERM: pid file removed" || fail "SIGTERM: pid file left: $(cat "$PIDF")"
nft list table inet bulkhead >/dev/null 2>&1 && pass "SIGTERM: the tables stay in the kernel" ||
	fail "SIGTERM: table inet bulkhead gone"
syslog_has "bulkheadd\[$P\]: exiting on signal 15" && pass "syslog: exit logged" ||
	fail "syslog lacks the exit"

# ---- a failure after detaching reaches the caller: the metrics listener
# starts after the fork, and 192.0.2.1 (TEST-NET-1) is no address of ours.
bulkheadd_ns --rules "$RULES" --control-socket "$SOCK" --nflog-group $GROUP \
	--pidfile "$PIDF" --metrics-listen 192.0.2.1:9661 >/dev/null 2>"$W/bad.err"
rc=$?
[ $rc -eq 1 ] && grep -q "cannot serve metrics on 192.0.2.1:9661" "$W/bad.err" &&
	pass "a start-up failure after the fork: exit 1, reason on stderr" ||
	fail "bad --metrics-listen: exit $rc, $(cat "$W/bad.err")"

# ---- a stale pid file
mkdir -p "$(dirname "$PIDF")"
echo 999999 >"$PIDF"
bulkheadd_ns --rules "$RULES" --control-socket "$SOCK" --nflog-group $GROUP \
	--pidfile "$PIDF" >/dev/null 2>"$W/stale.err"
rc=$?
P=$(daemon_pid)
[ $rc -eq 0 ] && [ "$P" != 999999 ] && kill -0 "$P" 2>/dev/null &&
	pass "a stale pid file is taken over (pid $P)" ||
	fail "stale pid file: exit $rc, pid '$P', $(cat "$W/stale.err")"
kill -TERM "$P" 2>/dev/null
wait_for 10 sh -c "! kill -0 $P" || fail "second daemon did not exit"

# ---- sd_notify (a unit of Type=notify): READY=1 only once the ruleset is
# in the kernel, RELOADING=1 then READY=1 around a SIGHUP reload,
# STOPPING=1 on exit.  The test plays systemd's notification socket.
NSOCK=$W/notify.sock
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode(errors="replace").replace("\n", " ") + "\n")
' "$NSOCK" "$W/notify.log" &
NPID=$!
wait_for 5 test -S "$NSOCK" || fail "notification socket not bound"
"$B/bulkheadd" --flush >/dev/null 2>&1
NOTIFY_SOCKET=$NSOCK "$B/bulkheadd" --foreground --rules "$RULES" \
	--control-socket "$W/notify-ctl.sock" --nflog-group $GROUP >>"$W/notify-daemon.log" 2>&1 &
P=$!
echo "$P" >>"$W/notify.pidlist"
if wait_for 20 grep -q "READY=1" "$W/notify.log"; then
	nft list table inet bulkhead >/dev/null 2>&1 &&
	[ "$(status "$W/notify-ctl.sock" | jq .in_sync)" = true ] &&
		pass "sd_notify: READY=1 once the ruleset is in the kernel ($(head -1 "$W/notify.log"))" ||
		fail "sd_notify: READY=1 before the ruleset was in the kernel"
else
	fail "sd_notify: no READY=1 in 20 s ($(cat "$W/notify.log"))"
fi
kill -HUP "$P"
wait_for 10 sh -c "[ \$(grep -c READY=1 '$W/notify.log') -ge 2 ]" &&
	sed -n 2p "$W/notify.log" | grep -q "^RELOADING=1" &&
	pass "sd_notify: RELOADING=1 then READY=1 around SIGHUP" ||
	fail "sd_notify around SIGHUP: $(tr '\n' '|' <"$W/notify.log")"
kill -TERM "$P"
wait_for 10 sh -c "! kill -0 $P" || fail "notify daemon did not exit"
wait_for 5 grep -q "^STOPPING=1" "$W/notify.log" && pass "sd_notify: STOPPING=1 on exit" ||
	fail "sd_notify: no STOPPING=1 ($(tr '\n' '|' <"$W/notify.log"))"
kill "$NPID" 2>/dev/null
finish
