#!/bin/bash
# docker-up.sh: makes sure a Docker engine answers on the local socket,
# starting Debian's dockerd when none runs (CI machines have no init that
# starts it), and that the busybox test image exists.  DOCKERD_ARGS: extra
# options for a dockerd it starts (docker_restart_test.sh: --live-restore).
set -e
LOG=${DOCKERD_LOG:-/var/log/bulkhead-dockerd.log}
if ! docker info >/dev/null 2>&1; then
	if [ -z "$DOCKERD_ARGS" ] && command -v systemctl >/dev/null 2>&1 &&
	    systemctl start docker 2>/dev/null &&
	    docker info >/dev/null 2>&1; then
		:
	else
		echo "docker-up: starting dockerd (log: $LOG)"
		# dockerd outlives us: it must not inherit our other descriptors
		# (a caller's lock file would stay locked as long as dockerd runs).
		(
			for fd in /proc/self/fd/*; do
				fd=${fd##*/}
				[ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-"
			done
			# shellcheck disable=SC2086
			exec nohup dockerd $DOCKERD_ARGS >"$LOG" 2>&1
		) &
	fi
	i=0
	until docker info >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 60 ]; then
			echo "docker-up: dockerd did not come up in 60 s; last log lines:" >&2
			tail -20 "$LOG" >&2
			exit 1
		fi
		sleep 1
	done
fi
# Bridged traffic must cross netfilter's inet hooks (conntrack, policy).
modprobe br_netfilter 2>/dev/null || true
if [ -w /proc/sys/net/bridge/bridge-nf-call-iptables ]; then
	echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables
	echo 1 >/proc/sys/net/bridge/bridge-nf-call-ip6tables
fi
"$(dirname "$0")/mkimage.sh"
