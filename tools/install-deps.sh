#!/bin/sh
# install-deps.sh: installs the Debian packages bulkhead needs to build,
# run and test, when any is missing.  Used by `make run`, `make check`
# and CI; needs root (or sudo) only when something is missing.
set -e
PKGS="build-essential pkg-config clang libnftnl-dev libmnl-dev libnl-3-dev
libnl-route-3-dev libjansson-dev libpcap-dev libcurl4-openssl-dev libcmocka-dev
docker.io podman netavark busybox-static nftables iproute2 iptables tshark jq curl procps socat netcat-openbsd
libmicrohttpd-dev libseccomp-dev python3 mandoc systemd"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; the answer does not matter here.
echo "wireshark-common wireshark-common/install-setuid boolean false" |
	$SUDO debconf-set-selections 2>/dev/null || true
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
