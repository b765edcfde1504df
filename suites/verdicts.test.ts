import * as allure from 'allure-js-commons';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../harness/paths.ts';

/**
 * Proof that the lab tells the truth: suites that fail on purpose
 * (tests/verdicts/*.suite.ts, tests/canary/canary.suite.ts) run in a nested
 * vitest with their own Allure results, and the verdicts, reports and evidence
 * they produced are checked here.
 */
interface Attachment {
  name: string;
  source: string;
}
interface Result {
  name: string;
  status: string;
  statusDetails?: { message?: string };
  attachments: Attachment[];
  steps?: { attachments?: Attachment[]; steps?: unknown[] }[];
  links?: { url: string; name?: string }[];
  parameters?: { name: string; value: string }[];
}

async function runFixture(file: string, env: Record<string, string> = {}): Promise<{ results: Result[]; dir: string; output: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'm3lab-verdicts-'));
  const res = await execa(path.join(repoRoot, 'node_modules', '.bin', 'vitest'), ['run', '--config', 'tests/verdicts/vitest.config.ts', file], {
    cwd: repoRoot,
    reject: false,
    all: true,
    env: { ...process.env, M3LAB_OWN_LAB: '1', M3LAB_ALLURE_RESULTS: dir, M3LAB_KERNEL: '', M3LAB_APPEND: '', ...env },
    timeout: 15 * 60_000,
  });
  await allure.attachment(`nested run of ${file}`, res.all ?? '', { contentType: 'text/plain' });
  const results = readdirSync(dir)
    .filter((f) => f.endsWith('-result.json'))
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Result);
  return { results, dir, output: res.all ?? '' };
}

function attachmentsOf(r: Result): Attachment[] {
  const out = [...r.attachments];
  const walk = (steps: Result['steps']) => {
    for (const s of steps ?? []) {
      out.push(...(s.attachments ?? []));
      walk(s.steps as Result['steps']);
    }
  };
  walk(r.steps);
  return out;
}

function attachmentText(dir: string, r: Result, name: RegExp): string {
  const a = attachmentsOf(r).filter((x) => name.test(x.name));
  return a.map((x) => readFileSync(path.join(dir, x.source), 'utf8')).join('\n');
}

function bundleOf(dir: string, r: Result): string {
  const p = attachmentText(dir, r, /^evidence bundle$/).trim();
  expect(p, `${r.name}: no evidence bundle attached`).not.toBe('');
  expect(existsSync(path.join(p, 'test.json')), `${p}/test.json`).toBe(true);
  return p;
}

describe('verdicts: the lab reports kernel bugs as failed and host faults as broken', () => {
  it('a node whose kernel panics during a test yields a failed test with the panic text and a bundle', async () => {
    const { results, dir } = await runFixture('tests/verdicts/panic.suite.ts');
    try {
      expect(results.map((r) => r.status)).toEqual(['failed']);
      const r = results[0]!;
      expect(r.statusDetails?.message).toMatch(/kernel report while the test ran: node1: .*panic/i);
      const report = attachmentText(dir, r, /^kernel report node1/);
      expect(report).toContain('Kernel panic - not syncing');
      expect(report).toMatch(/sysrq/i);
      const bundle = bundleOf(dir, r);
      expect(readFileSync(path.join(bundle, 'node1.console.log'), 'utf8')).toContain('Kernel panic - not syncing');
      expect(readFileSync(path.join(bundle, 'reports.txt'), 'utf8')).toContain('Kernel panic - not syncing');
      expect(JSON.parse(readFileSync(path.join(bundle, 'test.json'), 'utf8'))).toMatchObject({ verdict: 'failed', nodes: [{ node: 'node1', kernel: 'default' }] });
      expect(readFileSync(path.join(bundle, 'node1.qemu.txt'), 'utf8')).toMatch(/^qemu-system-x86_64 .*-kernel /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a lab that cannot boot for a host-side reason yields broken tests, none skipped', async () => {
    const { results, dir } = await runFixture('tests/verdicts/noboot.suite.ts', { M3LAB_BOOT_TIMEOUT: '1' });
    try {
      expect(results.map((r) => r.status)).toEqual(['broken', 'broken']);
      for (const r of results) expect(r.statusDetails?.message).toMatch(/not ready before the boot deadline/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a kernel that panics while it boots yields a failed test, not a broken one', async () => {
    const { results, dir } = await runFixture('tests/verdicts/bootpanic.suite.ts');
    try {
      expect(results.map((r) => r.status)).toEqual(['failed']);
      expect(results[0]!.statusDetails?.message).toMatch(/kernel panic during boot/);
      expect(results[0]!.statusDetails?.message).toContain('Kernel panic - not syncing');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a node that hangs (QEMU runs, the guest answers nothing, not even a new SSH login) yields a failed test, not a broken one', async () => {
    const { results, dir } = await runFixture('tests/canary/hang.suite.ts');
    try {
      expect(results.map((r) => r.status)).toEqual(['failed']);
      expect(results[0]!.statusDetails?.message).toMatch(/node1 hung: QEMU runs but the guest answers nothing/);
      bundleOf(dir, results[0]!);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a failed test\'s evidence bundle replays with one command (m3lab replay) and fails the same way, seed and all', async () => {
    const first = await runFixture('tests/verdicts/seeded.suite.ts');
    const again = mkdtempSync(path.join(os.tmpdir(), 'm3lab-verdicts-'));
    try {
      expect(first.results.map((r) => r.status)).toEqual(['failed']);
      const why = first.results[0]!.statusDetails?.message ?? '';
      const picked = /seed (\d+) picked (\d+), the node said (\d+)/.exec(why);
      expect(picked, why).not.toBeNull();
      const bundle = bundleOf(first.dir, first.results[0]!);
      // The one command, as a developer on a laptop would type it.
      const res = await execa('node', [path.join(repoRoot, 'bin', 'm3lab.js'), 'replay', bundle], {
        cwd: repoRoot,
        reject: false,
        all: true,
        env: { ...process.env, M3LAB_OWN_LAB: '1', M3LAB_ALLURE_RESULTS: again, M3LAB_KERNEL: '', M3LAB_APPEND: '', M3LAB_SEED: '' },
        timeout: 10 * 60_000,
      });
      await allure.attachment('m3lab replay', res.all ?? '', { contentType: 'text/plain' });
      expect(res.all).toContain(`replay: M3LAB_SEED=${picked![1]} npx vitest run --config tests/verdicts/vitest.config.ts tests/verdicts/seeded.suite.ts -t`);
      expect(res.exitCode).not.toBe(0);
      const replayed = readdirSync(again)
        .filter((f) => f.endsWith('-result.json'))
        .map((f) => JSON.parse(readFileSync(path.join(again, f), 'utf8')) as Result);
      expect(replayed.map((r) => [r.name, r.status])).toEqual([[first.results[0]!.name, 'failed']]);
      // The same failure: the same seed picked the same number, and the node answered the same.
      expect(replayed[0]!.statusDetails?.message).toContain(picked![0]);
    } finally {
      rmSync(first.dir, { recursive: true, force: true });
      rmSync(again, { recursive: true, force: true });
    }
  });

  it('the canary module on the debug kernel: lockdep, atomic sleep, WARN, UBSAN, list corruption and KASAN each make a failed test with the report attached', async () => {
    const { results, dir } = await runFixture('tests/canary/canary.suite.ts', { M3LAB_KERNEL: 'debug' });
    try {
      const byName = new Map(results.map((r) => [r.name, r]));
      const expected: [string, RegExp][] = [
        ['lock-order inversion', /WARNING: possible circular locking dependency detected[\s\S]*m3canary/],
        ["sleeping in atomic context", /(BUG: sleeping function called from invalid context|BUG: scheduling while atomic)[\s\S]*canary_sleep_atomic/],
        ['a WARN', /WARNING: CPU: \d+ PID: \d+ at \S*m3canary\.c:\d+ canary_write[\s\S]*---\[ end trace/],
        ['a shift out of bounds', /UBSAN: shift-out-of-bounds in [\s\S]*m3canary/],
        ['list corruption', /list_del corruption/],
        // KASAN, unless KFENCE sampled that allocation (KASAN does not check KFENCE's
        // objects): either report is the bug found (CI saw KFENCE's once).
        ['use-after-free', /BUG: (KASAN: (slab-)?use-after-free in|KFENCE: use-after-free read in) canary_uaf\+0x[0-9a-f]+\/0x[0-9a-f]+ \[m3canary\]/],
      ];
      expect([...byName.keys()].sort()).toEqual(expected.map(([n]) => n).sort());
      for (const [name, re] of expected) {
        const r = byName.get(name)!;
        expect({ name, status: r.status }).toEqual({ name, status: 'failed' });
        expect(r.parameters).toEqual(expect.arrayContaining([{ name: 'kernel', value: 'debug' }]));
        const text = attachmentText(dir, r, /^kernel report node1/);
        expect(text, name).toMatch(re);
        bundleOf(dir, r);
      }
      // The whole KASAN report, from its header to its closing line.
      const uafText = attachmentText(dir, byName.get('use-after-free')!, /^kernel report node1/);
      expect(uafText.trim().split('\n').pop()).toMatch(/^(\[[ .\d]+\] )?={20,}$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
