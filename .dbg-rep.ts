import { readFileSync } from 'node:fs';
import { Lab } from './harness/lab/lab.ts';
import { resolveLab } from './harness/lab/lab-file.ts';
import { installKmod } from './harness/kmod/install.ts';
import type { LabNode } from './harness/lab/node.ts';
const log = (l: string) => process.stderr.write(l + '\n');
const lab = await Lab.boot(resolveLab({ name: 'dbg', nodes: 1, cpus: 2 }, { kernel: 'debug' }), { log });
try {
  const n = lab.nodes[0] as LabNode;
  await installKmod([n], [1], log);
  await n.ssh!.exec('cat > /tmp/rep && chmod +x /tmp/rep', { stdin: readFileSync('/tmp/dbg/repro') });
  for (let i = 0; i < Number(process.argv[2] ?? 3); i++) {
    const res = await n.rpc.call('exec', { cmd: '/tmp/rep', args: ['10'], timeoutMs: 60000 }, 90000);
    log(`run ${i}: exit ${res.code} ${res.stdout.split('\n').filter((l) => /ok 1/.test(l)).join(' ')}`);
    if (/stuck/.test(res.stdout)) {
      log((await n.sh('ps -o pid,stat,wchan:30,comm; for p in $(pgrep rep); do echo == $p; cat /proc/$p/task/*/stack; done; dmesg | tail -40')).stdout);
      break;
    }
  }
} finally {
  await lab.teardown();
}
