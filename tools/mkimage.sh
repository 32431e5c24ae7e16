#!/bin/sh
# mkimage.sh: builds the local test image bulkhead-test:latest from
# Debian's busybox-static with `docker import` (no registry needed).
# ENGINE=podman builds the same image into Podman's store.
set -e
IMAGE=${1:-bulkhead-test:latest}
ENGINE=${ENGINE:-docker}
"$ENGINE" image inspect "$IMAGE" >/dev/null 2>&1 && exit 0
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc"
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
tar -C "$root" -c . | "$ENGINE" import -c 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null
echo "mkimage: built $IMAGE ($ENGINE)"
