#!/bin/bash
# Developer aid: build everything, boot the Debian cloud kernel in QEMU
# (TCG) with a busybox initramfs carrying m3ipc.ko, m3ctl and the tests,
# run the tests (TAP on the serial console), rmmod, scan dmesg, power off.
#
#   scripts/quick-vm-test.sh [--smp N] [--kh DIR] [--timeout SEC]
#                            [--bench "PROG ARGS"]... [TEST...]
#
# TEST: names of tests/t_*.c programs to run (default: all).
# --bench: also run build/bench/PROG ARGS in the guest after the tests
#          (repeatable), e.g. --bench "ipcbench -n 2000 m3-sendrec".
# Exit status 0 only if every TAP line is "ok", every test program exited
# 0, rmmod succeeded and dmesg has no Oops/BUG/WARNING.
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
SMP=2
KH=/tmp/kh
TMO=300
TESTS=()
BENCHES=()
while [ $# -gt 0 ]; do
	case "$1" in
	--smp) SMP=$2; shift 2 ;;
	--kh) KH=$2; shift 2 ;;
	--timeout) TMO=$2; shift 2 ;;
	--bench) BENCHES+=("$2"); shift 2 ;;
	*) TESTS+=("$1"); shift ;;
	esac
done

eval "$("$HERE/scripts/fetch-kernel.sh" "$KH" | tail -2)"
make -s -C "$HERE" KDIR="$KDIR" all >/dev/null

B=$HERE/build
WORK=$(mktemp -d /tmp/m3vm.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
R=$WORK/root
mkdir -p "$R"/{bin,dev,proc,sys,tmp,tests}
cp /bin/busybox "$R/bin/busybox"
cp "$B/m3ipc.ko" "$B/m3ctl" "$R/"
if [ ${#TESTS[@]} -eq 0 ]; then
	cp "$B"/tests/t_* "$R/tests/"
else
	for t in "${TESTS[@]}"; do cp "$B/tests/$t" "$R/tests/"; done
fi
if [ ${#BENCHES[@]} -gt 0 ]; then
	cp -r "$B/bench" "$R/bench"
	printf '%s\n' "${BENCHES[@]}" > "$R/bench/run"
fi
mknod -m 600 "$R/dev/console" c 5 1
mknod -m 666 "$R/dev/null" c 1 3

cat > "$R/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
echo "M3TEST-BEGIN cpus=$(grep -c ^processor /proc/cpuinfo) kernel=$(uname -r)"
if insmod /m3ipc.ko; then echo "# insmod ok"; else echo "Bail out! insmod failed"; fi
m3ctl dvs-init 0 || echo "# dvs-init failed"
for t in /tests/t_*; do
	echo "# RUN $t"
	"$t"
	echo "# EXIT $t $?"
done
echo "# /proc/m3ipc/info:"; sed 's/^/#   /' /proc/m3ipc/info
echo "# m3ctl dump: $(m3ctl dump)"
if [ -f /bench/run ]; then
	while read -r b; do echo "# BENCH $b: $(/bench/$b 2>&1)"; done < /bench/run
fi
m3ctl dc-init leftover --procs 4 >/dev/null && sh -c 'sleep 100' &
sleep 0.2
m3ctl bind leftover $! >/dev/null || true
echo "# before rmmod: $(cat /proc/m3ipc/info | tail -1)"
if rmmod m3ipc; then echo "# RMMOD ok"; else echo "# RMMOD failed"; fi
dmesg | grep m3ipc | tail -4 | sed 's/^/# dmesg: /'
kill %1 2>/dev/null
if dmesg | grep -E "Oops|BUG|WARNING|Call Trace|general protection|refcount_t|list_del corruption|lockdep" >/tmp/bad; then
	echo "# DMESG-DIRTY"; sed 's/^/#   /' /tmp/bad
else
	echo "# DMESG-CLEAN"
fi
echo "M3TEST-END"
poweroff -f
INIT
chmod 755 "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) > "$WORK/initrd.gz"

KERNEL=${KERNEL:-$KH/root/boot/vmlinuz-6.1.0-50-cloud-amd64}
LOG=$B/vm-smp$SMP.log
echo "booting: smp=$SMP accel=tcg log=$LOG"
timeout "$TMO" qemu-system-x86_64 -accel tcg -cpu max -smp "$SMP" -m 512 \
	-display none -nodefaults -no-reboot -serial stdio \
	-kernel "$KERNEL" -initrd "$WORK/initrd.gz" \
	-append "console=ttyS0 loglevel=4 panic=-1 cryptomgr.notests" \
	</dev/null >"$LOG" 2>&1 || echo "qemu exit status $?"

tr -d '\r' <"$LOG" | sed -n '/M3TEST-BEGIN/,/M3TEST-END/p' >"$LOG.tap"
pass=$(grep -c '^ok ' "$LOG.tap" || true)
fail=$(grep -c '^not ok ' "$LOG.tap" || true)
badexit=$(grep '^# EXIT ' "$LOG.tap" | awk '$4 != 0' | wc -l)
grep -E '^not ok|^Bail out|^# EXIT|^# RMMOD|^# DMESG|^#   |^# BENCH|^# dmesg|^# before' "$LOG.tap" || true
echo "summary: smp=$SMP ok=$pass not_ok=$fail bad_exits=$badexit"
if grep -q 'M3TEST-END' "$LOG.tap" && [ "$fail" = 0 ] && [ "$badexit" = 0 ] &&
   [ "$pass" -gt 0 ] && grep -q '^# RMMOD ok' "$LOG.tap" &&
   grep -q '^# DMESG-CLEAN' "$LOG.tap"; then
	echo "RESULT: PASS"
	exit 0
fi
echo "RESULT: FAIL (see $LOG)"
exit 1
