#!/bin/sh
# Fetch and unpack the Debian kernel image + headers the module is built
# against, without installing anything on the host.
#
#   scripts/fetch-kernel.sh [DIR]        (default DIR: /tmp/kh)
#
# Afterwards:
#   KDIR   = DIR/root/usr/src/linux-headers-6.1.0-50-cloud-amd64
#   kernel = DIR/root/boot/vmlinuz-6.1.0-50-cloud-amd64
set -eu
DIR=${1:-/tmp/kh}
ABI=6.1.0-50
VER=6.1.176-1
FLAVOUR=cloud-amd64

mkdir -p "$DIR"
cd "$DIR"
if [ ! -f root/.m3-ok ]; then
	# apt-get download writes into the current directory; as root it
	# warns that the _apt sandbox cannot access it, which is harmless.
	apt-get download \
		"linux-headers-$ABI-$FLAVOUR=$VER" \
		"linux-headers-$ABI-common=$VER" \
		"linux-kbuild-6.1=$VER" \
		"linux-image-$ABI-$FLAVOUR-unsigned=$VER"
	for f in ./*.deb; do dpkg-deb -x "$f" root; done
	# The flavour Makefile includes the common one by absolute path.
	sed -i "1s|include /usr/src/|include $PWD/root/usr/src/|" \
		"root/usr/src/linux-headers-$ABI-$FLAVOUR/Makefile"
	# The scripts/ and tools/ symlinks are relative
	# (../../lib/linux-kbuild-6.1/...) and resolve inside root/.
	touch root/.m3-ok
fi
echo "KDIR=$PWD/root/usr/src/linux-headers-$ABI-$FLAVOUR"
echo "KERNEL=$PWD/root/boot/vmlinuz-$ABI-$FLAVOUR"
