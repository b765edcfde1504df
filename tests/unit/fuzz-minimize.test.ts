import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ddmin, minimize, reportSignature, signatureMatches, type Trial } from '../../harness/fuzz/minimize.ts';
import { callCount, parseRawDump, reproC, type Program } from '../../harness/fuzz/repro.ts';
import { repoRoot } from '../../harness/paths.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'm3-min-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// What `m3fuzz --dump DIR --raw` prints (kmod/tests/m3fuzz.c dump_raw): two
// processes, the second unprivileged, its last thread SCHED_FIFO; a stale
// second ring of slot 0 (a dump of both files of a slot) is left out.
const ring = (slot: number, uid: number, rtMask: number) =>
  `ring slot=${slot} inc=0 pid=${100 + slot} uid=${uid} nthreads=2 ring_len=64 seed=42 calls=9 data=0x7f0000000000 data_len=262144 rdonly=0x7f0000100000 unmapped=0x7f0000200000 rt_mask=${rtMask}`;
const spec = (dcid: number) => Buffer.concat([Buffer.from('hot1'.padEnd(16, '\0')), Buffer.from(new Int32Array([dcid, 1, 4, 1]).buffer), Buffer.alloc(32)]).toString('hex');
const DUMP = [
  ring(0, 0, 0x2),
  `call 1 0 201 dc_init 0xc0406d04 good 2 1 64 0x7ffc00001000 ${spec(1)}`,
  'call 2 1 202 dc_end 0x40086d05 good 2 0 8 0x7ffc00002000 0100000000000000',
  'call 3 0 201 dvs_info 0x80306d03 NULL 2 -14 48 0x0 ',
  'call 4 1 202 signal 0x0 good 2 0 4 0x65 ca000000',
  ring(2, 65534, 0x0),
  'call 1 0 301 bind 0xc00c6d07 unmapped 2 -14 12 0x7f0000200000 010000000000000000000000',
  'call 2 1 302 procread 0x0 good 2 0 0 0x0 ',
  ring(0, 0, 0),
  'call 9 0 999 dvs_end 0x40086d02 good 2 0 8 0x7ffc00001000 0000000000000000',
].join('\n');

describe('fuzzer programs: raw dumps and C reproducers', () => {
  it('reads each process, thread and call of a raw dump; one ring per slot', () => {
    const p = parseRawDump(DUMP);
    expect(p.procs.map((q) => ({ slot: q.slot, uid: q.uid, rt: q.threads.map((t) => t.rt), calls: q.threads.map((t) => t.calls.map((c) => c.op)) }))).toEqual([
      { slot: 0, uid: 0, rt: [false, true], calls: [['dc_init', 'dvs_info'], ['dc_end', 'signal']] },
      { slot: 2, uid: 65534, rt: [false, false], calls: [['bind'], ['procread']] },
    ]);
    expect(p.data).toBe(0x7f0000000000n);
    expect(p.procs[0]!.threads[0]!.calls[0]!.arg.length).toBe(64);
    expect(callCount(p)).toBe(6);
  });

  it('a bad dump names its line', () => {
    expect(() => parseRawDump('call 1 0 1 x 0x1 good 2 0 0 0x0\n')).toThrow(/line 1.*before any ring/);
    expect(() => parseRawDump(`${ring(0, 0, 0)}\ncall 1 7 1 x 0x1 good 2 0 0 0x0\n`)).toThrow(/line 2.*thread 7/);
    expect(() => parseRawDump('ring slot=0 data=zz\n')).toThrow(/line 1.*data/);
  });

  it('the reproducer is C that compiles with warnings on, and says in TAP when the device is missing', () => {
    const c = reproC(parseRawDump(DUMP), { what: 'unit test reproducer', seconds: 2 });
    const src = path.join(tmp, 'repro.c');
    const bin = path.join(tmp, 'repro');
    writeFileSync(src, c);
    execFileSync('gcc', ['-O2', '-pthread', '-Wall', '-Wextra', '-Werror', '-Wno-unused-parameter', '-I', path.join(repoRoot, 'kmod'), '-o', bin, src]);
    expect(c).toMatch(/static const struct r_proc repro_procs\[\] = \{\n\t\{ 0, 2, t0 \},.*\n\t\{ 65534, 2, t1 \}/);
    // This host has no /dev/m3ipc: a bail-out, not a pass.
    const run = spawnSync(bin, ['1'], { encoding: 'utf8', timeout: 10_000 });
    expect(run.stdout).toMatch(/^1\.\.1\n# unit test reproducer\n/);
    expect(run.stdout).toMatch(/Bail out! \/dev\/m3ipc: No such file or directory/);
    expect(run.status).toBe(2);
    const bad = spawnSync(bin, ['0'], { encoding: 'utf8', timeout: 10_000 });
    expect({ status: bad.status, out: bad.stdout }).toEqual({ status: 2, out: expect.stringMatching(/Bail out! usage/) });
  });
});

describe('a real dump: the fuzzer process of seed 886592 that held the dc_init use-after-free', () => {
  // m3fuzz --dump --raw of process slot 4 from the lab-fuzz bundle on the module before its fix.
  const text = readFileSync(path.join(repoRoot, 'tests', 'fixtures', 'fuzz', 'm3fuzz-raw-seed886592-p4.txt'), 'utf8');

  it('parses every call and regenerates C that compiles', () => {
    const p = parseRawDump(text);
    expect(p.seed).toBe('886592');
    expect(p.procs.map((q) => q.slot)).toEqual([4]);
    expect(callCount(p)).toBe(text.split('\n').filter((l) => l.startsWith('call ')).length);
    const ops = new Set(p.procs[0]!.threads.flatMap((t) => t.calls.map((c) => c.op)));
    expect(ops.has('dc_init') && ops.has('dc_end')).toBe(true);
    const src = path.join(tmp, 'real.c');
    writeFileSync(src, reproC(p, { what: 'real dump', seconds: 1 }));
    execFileSync('gcc', ['-O2', '-pthread', '-Wall', '-Werror', '-I', path.join(repoRoot, 'kmod'), '-o', path.join(tmp, 'real'), src]);
  });

  it('with the race as oracle, minimizing leaves a dc_init and a dc_end in two threads, as the lab did', async () => {
    const p = parseRawDump(text);
    const race = (q: Program) => {
      const ths = q.procs.flatMap((x) => x.threads);
      const i = ths.findIndex((t) => t.calls.some((c) => c.op === 'dc_init'));
      return i >= 0 && ths.some((t, j) => j !== i && t.calls.some((c) => c.op === 'dc_end'));
    };
    const res = await minimize(p, async (q) => ({ reproduced: race(q), line: '' }), { maxTrials: 200 });
    expect(callCount(res.program)).toBe(2);
    expect(res.program.procs[0]!.threads.map((t) => t.calls[0]!.op).sort()).toEqual(['dc_end', 'dc_init']);
  });
});

describe('minimizing', () => {
  it('ddmin finds the two items a test needs', async () => {
    const items = Array.from({ length: 40 }, (_, i) => i);
    const budget = { left: 200 };
    const out = await ddmin(items, async (k) => k.includes(7) && k.includes(31), budget);
    expect(out).toEqual([7, 31]);
    expect(budget.left).toBeGreaterThan(0);
  });

  // The bug of the fuzzer's first find, as an oracle: dc_init in one thread racing dc_end in another.
  const race = (p: Program) => {
    const where = (op: string) => p.procs.flatMap((q, pi) => q.threads.flatMap((t, ti) => (t.calls.some((c) => c.op === op) ? [`${pi}/${ti}`] : [])));
    const inits = where('dc_init');
    return where('dc_end').some((e) => inits.some((i) => i !== e));
  };

  it('cuts a program down to the racing pair, and what it keeps always reproduced', async () => {
    const p = parseRawDump(DUMP);
    const seen: number[] = [];
    const trial: Trial = async (cand) => {
      seen.push(callCount(cand));
      return { reproduced: race(cand), line: race(cand) ? 'BUG: KASAN: use-after-free in m3_dc_init' : 'ok 1' };
    };
    const res = await minimize(p, trial, { maxTrials: 100 });
    expect(res.program.procs.flatMap((q) => q.threads.flatMap((t) => t.calls.map((c) => c.op))).sort()).toEqual(['dc_end', 'dc_init']);
    expect(race(res.program)).toBe(true);
    expect(res.trials).toBe(seen.length);
  });

  it('a race that shows one time in three: the result still holds the race, and the trial budget is kept', async () => {
    const p = parseRawDump(DUMP);
    let n = 0;
    const trial: Trial = async (cand) => ({ reproduced: race(cand) && n++ % 3 === 0, line: '' });
    const res = await minimize(p, trial, { maxTrials: 12 });
    expect(race(res.program)).toBe(true);
    expect(res.trials).toBeLessThanOrEqual(12);
  });

  it('a trial counts only the bundle bug: same kind and function', () => {
    const sig = reportSignature('KASAN: use-after-free Read in m3_dc_init');
    const m = (first: string, rest: string[] = []) => signatureMatches(sig, first, rest);
    expect(m('BUG: KASAN: use-after-free in m3_dc_init+0x2c5/0x5a0 [m3ipc]')).toBe(true);
    // The same bug reported in vsnprintf's helper: the call trace names m3_dc_init.
    expect(m('BUG: KASAN: use-after-free in string+0x1d0/0x200', [' vsnprintf+0x1/0x2', ' m3_dc_init+0x2c5/0x5a0 [m3ipc]'])).toBe(true);
    expect(m('BUG: KASAN: use-after-free in string+0x1d0/0x200', [' vsnprintf+0x1/0x2', ' m3_dc_end+0x2c5/0x5a0 [m3ipc]'])).toBe(false);
    expect(m('BUG: KASAN: slab-out-of-bounds in m3_dc_init+0x2c5/0x5a0 [m3ipc]')).toBe(false);
    expect(m('WARNING: CPU: 1 PID: 1 at kmod/module/dc.c:10 m3_dc_init_x+0x1')).toBe(false);
  });
});
