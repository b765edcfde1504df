#!/bin/busybox sh
# The boot script of every m3lab guest, run by busybox init (which, as PID 1,
# reaps orphans and handles poweroff). Reads its settings from the kernel command line
# (m3lab.name, m3lab.lan, m3lab.mgmtmac, m3lab.lanmac), brings up the two NICs,
# starts dropbear and prints the ready marker the harness waits for.
/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /dev/shm
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null

say() { echo "m3lab-init: $*" > /dev/console; }

# The image carries modules of Debian's kernel only; the lab's own kernel
# variants have what they need built in.
RELEASE=$(uname -r)
while read -r ko; do
	case "$ko" in
	/lib/modules/"$RELEASE"/*) insmod "$ko" || say "insmod $ko failed" ;;
	esac
done < /etc/m3lab/modules

for word in $(cat /proc/cmdline); do
	case "$word" in
	m3lab.name=*) NAME="${word#*=}" ;;
	m3lab.lan=*) LAN="${word#*=}" ;;
	m3lab.mgmtmac=*) MGMTMAC="${word#*=}" ;;
	m3lab.lanmac=*) LANMAC="${word#*=}" ;;
	m3lab.template=*) TEMPLATE="${word#*=}" ;;
	m3lab.zygote=*) ZYGOTE="${word#*=}" ;;
	esac
done

hostname "${NAME:-m3lab}"
ip link set lo up

# Find each NIC by its MAC: PCI probe order is not a contract.
iface_of() {
	for dev in /sys/class/net/*; do
		[ "$(cat "$dev/address")" = "$1" ] && basename "$dev" && return 0
	done
	return 1
}

if MGMT=$(iface_of "$MGMTMAC"); then
	ip link set "$MGMT" name mgmt0 && MGMT=mgmt0
	ip addr add 10.0.2.15/24 dev "$MGMT"
	ip link set "$MGMT" up
else
	say "no management NIC with MAC $MGMTMAC"
fi
if [ -n "$LAN" ] && LANIF=$(iface_of "$LANMAC"); then
	ip link set "$LANIF" name lan0 && LANIF=lan0
	ip addr add "$LAN" dev "$LANIF"
	ip link set "$LANIF" up
fi

# perf stat turns static keys on and off around every task it counts (the
# suites run their programs under it): perf_sched_events for any task-bound
# event, and one per software event it counts (context switches, CPU
# migrations and page faults: IPC_PERF_EVENTS in agent/protocol.ts). Each turn
# patches the scheduler's code live, with int3 and IPIs. On a loaded TCG host a
# 2-vCPU guest was seen looping on such an int3 in finish_task_switch() with
# interrupts off: an RCU stall, then a dead node (verdicts overload control,
# 2026-12-06). The same events bound to PID 1 and held open from boot keep
# those keys on, so they never turn again.
perf stat -e task-clock,context-switches,cpu-migrations,page-faults -p 1 >/dev/null 2>&1 &

# A snapshot's template (harness/qemu/snapshot.ts) stops here, is saved, and
# every node restored from it wakes up in this read: its own name, addresses,
# MACs, a random seed and the host's clock come in on the second serial port.
# dropbear starts only after that, so its host key is made from the node's own
# reseeded pool, not the template's.
if [ "$TEMPLATE" = 1 ]; then
	stty -F /dev/ttyS1 clocal -echo -icrnl 2>/dev/null
	# The agent's zygote (images/zygote.cjs): a node runtime already up in
	# every restored node. Saved only once it listens (bounded: 20 s). The
	# harness asks for it (m3lab.zygote=1) except on debug kernels.
	mkdir -p /run/m3lab
	if [ "$ZYGOTE" = 1 ]; then
		node /usr/lib/m3lab/zygote.cjs </dev/null >/dev/console 2>&1 &
		i=0
		while [ ! -e /run/m3lab/zygote.ready ] && [ $i -lt 200 ]; do
			usleep 100000
			i=$((i + 1))
		done
		[ -e /run/m3lab/zygote.ready ] || say "the agent's zygote did not start; restored nodes start the agent the usual way"
	fi
	m3lab-ident --zero-free || say "m3lab-ident --zero-free failed"
	echo "M3LAB-SNAPSHOT-POINT ${NAME:-m3lab}" > /dev/console
	read -r W_NAME W_LAN W_MGMTMAC W_LANMAC W_SEED W_EPOCH W_TOKEN < /dev/ttyS1
	NAME=$W_NAME
	hostname "$NAME"
	m3lab-ident "$W_SEED" "$W_EPOCH" || say "m3lab-ident failed"
	# The zygote's token: root's alone, never on a command line.
	(umask 077 && echo "$W_TOKEN" > /run/m3lab/zygote.token)
	# The restored QEMU's user network starts with an empty ARP table: it asks
	# for 10.0.2.15 again and learns the new MAC from the answer.
	[ -n "$MGMT" ] && ip link set "$MGMT" address "$W_MGMTMAC"
	if [ -n "$LANIF" ]; then
		ip link set "$LANIF" down
		ip link set "$LANIF" address "$W_LANMAC"
		ip addr flush dev "$LANIF"
		ip addr add "$W_LAN" dev "$LANIF"
		ip link set "$LANIF" up
	fi
	mkdir -p /run/m3lab
	echo "$NAME" > /run/m3lab/restored
fi

mkdir -p /etc/dropbear /var/log /root
chmod 700 /root /root/.ssh
dropbear -R -s -p 22 -P /run/dropbear.pid
echo "M3LAB-READY ${NAME:-m3lab}" > /dev/console

