/**
 * A board simulator: a QEMU machine that the lab does NOT manage, so the
 * board path of the harness can be tested honestly without hardware. It is
 * what a bench board looks like from the lab host:
 * - power: two shell scripts (on.sh starts the machine detached, off.sh pulls
 *   the plug) that the lab file names as the board's power commands;
 * - console: its serial port on a unix socket, read by `socat` (the lab
 *   file's console command); QEMU waits for that reader before it runs, so
 *   the harness's capture gets the first byte;
 * - LAN: its own VDE switch (the "bench LAN") that the lab cables its switch
 *   to (`lan.uplink`), so VMs and the board reach each other at LAN addresses;
 * - SSH: a forwarded port on 127.0.0.1, the key of the lab image.
 * It boots the lab image (Debian's kernel), so the harness must find that
 * kernel's headers from `uname -r` like on any board.
 *
 * By hand: `node --import tsx tests/boards/board-sim.ts prepare DIR` writes
 * DIR/lab.yaml (one VM + the board); `npx m3lab up --lab DIR/lab.yaml`;
 * afterwards `node --import tsx tests/boards/board-sim.ts dispose DIR`.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { buildImage } from '../../harness/image/build.ts';
import { freePort } from '../../harness/lab/ports.ts';
import { isAlive } from '../../harness/host/procs.ts';
import { VdeSwitch } from '../../harness/network/vde.ts';
import { hostFactsDir } from '../../harness/paths.ts';
import { chooseAccel } from '../../harness/qemu/accel.ts';
import { hostTscKhz } from '../../harness/qemu/host-tsc.ts';
import { qemuArgs } from '../../harness/qemu/qemu-target.ts';

export interface BoardSimOptions {
  name: string;
  cpus: number;
  memoryMb: number;
  lanAddress: string;
  /** The MACs' last byte (qemu-target.ts macs()). */
  index: number;
}

export const DEFAULT_SIM: BoardSimOptions = { name: 'board1', cpus: 2, memoryMb: 768, lanAddress: '169.254.77.20', index: 20 };

const sh = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

export interface PreparedSim {
  dir: string;
  /** The lab-file entry of the board. */
  board: Record<string, unknown>;
  /** The VDE switch control path the lab cables its LAN to. */
  uplink: string;
}

/** Writes the power scripts and starts the bench LAN; the machine itself stays off. */
export async function prepareSim(dir: string, o: BoardSimOptions = DEFAULT_SIM): Promise<PreparedSim> {
  mkdirSync(dir, { recursive: true });
  const image = await buildImage({ log: () => {} });
  const accel = await chooseAccel('auto', image.kernel, hostFactsDir());
  const tsc = accel.accel === 'tcg' ? hostTscKhz(hostFactsDir()) : undefined;
  const lan = new VdeSwitch(dir);
  if (!existsSync(path.join(dir, 'vde.pid')) || !isAlive(Number(readFileSync(path.join(dir, 'vde.pid'), 'utf8')))) await lan.start();
  const sshPort = await freePort();
  const serial = path.join(dir, 'serial.sock');
  const args = qemuArgs({
    name: o.name,
    index: o.index,
    dir,
    kernel: image.kernel,
    initrd: image.initrd,
    cpus: o.cpus,
    maxcpus: o.cpus,
    memoryMb: o.memoryMb,
    append: tsc ? `tsc_early_khz=${tsc}` : '',
    accel: accel.accel,
    sshPort,
    lanSocket: lan.ctl,
    lanAddress: o.lanAddress,
    lanPrefix: 24,
    privateKey: '',
  })
    // A board reboots in place (no -no-reboot); its serial port is a socket the console command reads.
    .filter((a) => a !== '-no-reboot')
    .map((a) => (a.startsWith('file,id=con0,') ? `socket,id=con0,path=${serial},server=on,wait=on` : a));
  const pidFile = path.join(dir, 'qemu.pid');
  writeFileSync(
    path.join(dir, 'on.sh'),
    `#!/bin/sh
# Power on the simulated board ${o.name}. QEMU daemonizes once the console reader is connected.
if [ -f ${sh(pidFile)} ] && kill -0 "$(cat ${sh(pidFile)})" 2>/dev/null; then exit 0; fi
rm -f ${sh(serial)}
exec qemu-system-x86_64 ${args.map(sh).join(' ')} -daemonize
`,
  );
  writeFileSync(
    path.join(dir, 'off.sh'),
    `#!/bin/sh
# Pull the plug on the simulated board ${o.name} (SIGKILL: no shutdown, like a relay).
[ -f ${sh(pidFile)} ] || exit 0
pid=$(cat ${sh(pidFile)})
if kill -0 "$pid" 2>/dev/null; then
  kill -KILL "$pid"
  i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
fi
rm -f ${sh(pidFile)}
`,
  );
  chmodSync(path.join(dir, 'on.sh'), 0o755);
  chmodSync(path.join(dir, 'off.sh'), 0o755);
  const board = {
    name: o.name,
    ssh: { host: '127.0.0.1', port: sshPort, user: 'root', key: image.key.privateKeyPath },
    power: { on: path.join(dir, 'on.sh'), off: path.join(dir, 'off.sh'), timeout: 60 },
    console: `socat -u UNIX-CONNECT:${serial},retry=600,interval=0.1 STDOUT`,
    lan: o.lanAddress,
    cpus: o.cpus,
  };
  return { dir, board, uplink: lan.ctl };
}

/** A lab file: `vms` QEMU nodes of the lab plus the simulated board, on one LAN. */
export function simLabFile(sim: PreparedSim, vms: Record<string, unknown>[] = [{ name: 'node1', cpus: 1 }]): string {
  const file = path.join(sim.dir, 'lab.yaml');
  writeFileSync(file, `# One lab VM and a simulated board (tests/boards/board-sim.ts), on one LAN.\n${YAML.stringify({ name: 'boardlab', nodes: vms, boards: [sim.board], lan: { uplink: sim.uplink } })}`);
  return file;
}

/** Powers the board off and stops its LAN; safe to call twice, and synchronous so an exit handler can call it. */
export function disposeSim(dir: string): void {
  if (existsSync(path.join(dir, 'off.sh'))) {
    try {
      execFileSync(path.join(dir, 'off.sh'), { stdio: 'ignore', timeout: 15_000 });
    } catch {
      /* reported by the caller's checks */
    }
  }
  const vdePid = path.join(dir, 'vde.pid');
  if (existsSync(vdePid)) {
    const pid = Number(readFileSync(vdePid, 'utf8'));
    // Only the switch this simulator started: its command line names its folder.
    try {
      if (isAlive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

/** The simulated board's QEMU pid, while it runs. */
export function simPid(dir: string): number | undefined {
  const f = path.join(dir, 'qemu.pid');
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8'));
  return isAlive(pid) ? pid : undefined;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [cmd, dir] = process.argv.slice(2);
  if (!dir || !['prepare', 'dispose'].includes(cmd ?? '')) {
    process.stderr.write('usage: node --import tsx tests/boards/board-sim.ts prepare|dispose DIR\n');
    process.exit(2);
  }
  const abs = path.resolve(dir);
  if (cmd === 'prepare') {
    const sim = await prepareSim(abs);
    process.stdout.write(`${simLabFile(sim)}\n`);
  } else disposeSim(abs);
}
