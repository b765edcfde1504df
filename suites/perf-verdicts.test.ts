import * as allure from 'allure-js-commons';
import { spawn, type ChildProcess } from 'node:child_process';
import { describe, expect } from 'vitest';
import { describeCalibration, type CellCalibration } from '../harness/bench/calibrate.ts';
import type { ConfigResult } from '../harness/bench/ipc-local.ts';
import { summarize } from '../harness/bench/stats.ts';
import { InfraError } from '../harness/errors.ts';
import { unloadModule, type RemoteKmod } from '../harness/kmod/deploy.ts';
import { installKmod } from '../harness/kmod/install.ts';
import type { LabNode } from '../harness/lab/node.ts';
import { calibrationPoint } from '../harness/nightly/bench.ts';
import type { StoredNight } from '../harness/nightly/history.ts';
import { CALIBRATION_BOUND, RATIO_ALPHA, RATIO_MIN_NIGHTS, RATIO_WINDOW } from '../harness/nightly/plan.ts';
import { nightVerdicts, ratioSummary, type NightVerdicts } from '../harness/nightly/verdicts.ts';
import { labSuite } from './support/lab-suite.ts';

/**
 * The nightly's performance verdicts, tested on a real guest (the quick form
 * of issue 18's controls; the unit tests in tests/unit/nightly-ratios.test.ts
 * hold the logic). One 1-vCPU lab measures a few short "nights" of the local
 * bench (pipe, m3-send, m3-sendrec, calibrated at start and end, the rounds
 * round-robin as the nightly runs them) and judges each with the nightly's
 * own code against the ones before:
 * - negative control: a night with a busy loop on the host beside it is slower
 *   in absolute terms, but its ratios show no regression;
 * - positive control: a night with the module's test-only
 *   test_sendrec_delay_us (a planted slowdown of sendrec, sized to take ~45%
 *   of its rate) is flagged: the m3-sendrec / pipe ratio regressed, with its size.
 */

const ROUNDS = 5;
/**
 * Messages per case and round. 2000 (80 ms a case) left single rounds 25% off
 * their night's median on the host's whims; against the reference moved by the
 * margin, a planted 30% drop then read p = 0.08 (make test, 2026-12-06). 8000
 * gave p = 0.006 and 0.001 in two runs, for ~40 s more.
 */
const ITERS = 8000;
const CASES = ['pipe', 'm3-send', 'm3-sendrec'];
const MARGIN = 0.1;
const RULES = { margin: MARGIN, alpha: RATIO_ALPHA, window: RATIO_WINDOW, minNights: RATIO_MIN_NIGHTS, calibrationBound: CALIBRATION_BOUND };
/**
 * The planted slowdown costs this share of tonight's rate: rate' = rate (1 - DROP).
 * 0.3 was flagged in most runs but not all: in two clean-clone make tests
 * (2026-12-06 and 12-07) a -28% change read p = 0.10 and 0.065 against the
 * reference moved by the margin, one of five planted rounds being as fast as
 * the reference. Five rounds of this 2-core TCG host cannot tell a 30% drop
 * every time; 0.45 leaves the margin far behind, so the control fails only
 * when the judging does.
 */
const DROP = 0.45;

const log = (l: string) => process.stderr.write(`${l}\n`);

let remote: RemoteKmod | undefined;
const stored: StoredNight[] = [];

async function ipcbench(node: LabNode, args: string[]): Promise<{ value: number; unit: string }> {
  const res = await node.rpc.call('exec', { cmd: remote!.bench.ipcbench!, args, timeoutMs: 120_000 }, 130_000);
  if (res.code !== 0) throw new InfraError(`${node.name}: ipcbench ${args.join(' ')} failed (exit ${res.code}): ${res.stderr.trim()}`);
  return JSON.parse(res.stdout.trim().split('\n').pop()!) as { value: number; unit: string };
}

/** One short night of the bench cell: calibration, ROUNDS rounds of CASES round-robin, calibration. */
async function measureNight(node: LabNode, accel: string): Promise<{ config: ConfigResult; calibration: CellCalibration }> {
  const start = await calibrationPoint(node);
  const samples = new Map<string, { unit: string; values: number[] }>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of CASES) {
      const { value, unit } = await ipcbench(node, ['-n', `${ITERS}`, c]);
      const s = samples.get(c) ?? { unit, values: [] };
      s.values.push(value);
      samples.set(c, s);
    }
  }
  const end = await calibrationPoint(node);
  const config: ConfigResult = {
    cpus: 1,
    accel,
    kernel: `${node.record.kernel.variant} ${node.record.kernel.release}`,
    variant: node.record.kernel.variant,
    oversubscribed: false,
    hostCores: 2,
    cases: CASES.map((id) => ({ id, unit: samples.get(id)!.unit, samples: samples.get(id)!.values, summary: summarize(samples.get(id)!.values) })),
    ratios: [],
    targets: [],
    perf: {},
  };
  return { config, calibration: { start, end } };
}

/** Attempts at a night whose calibration drifted (unreliable): a shared host has bursts of other work. */
const ATTEMPTS = 3;

/**
 * A night measured and judged against the stored ones (newest first); kept as
 * a reference when `keep`. A night the calibration finds unreliable is
 * measured again, at most ATTEMPTS times in all (the last one counts).
 */
async function night(name: string, node: LabNode, accel: string, keep: boolean): Promise<NightVerdicts> {
  let v = await judgedNight(name, node, accel);
  for (let i = 2; i <= ATTEMPTS && Object.keys(v.unreliable).length; i++) v = await judgedNight(`${name} (attempt ${i})`, node, accel);
  if (keep) stored.unshift({ name, figures: v.figures, ratios: v.ratios, calibration: v.calibration });
  return v;
}

/**
 * A control needs a night that was judged: when the host changed speed under
 * every attempt, "no regression" would hold vacuously and "regression" could
 * not; the test is then broken (the host's fault), never passed.
 */
function judgedOrBroken(v: NightVerdicts, what: string): NightVerdicts {
  const why = Object.values(v.unreliable)[0];
  if (why) throw new InfraError(`${what}: unreliable in all ${ATTEMPTS} attempts, so the control could not be judged: ${why}`);
  return v;
}

async function judgedNight(name: string, node: LabNode, accel: string): Promise<NightVerdicts> {
  const m = await measureNight(node, accel);
  const v = nightVerdicts({ local: [m.config], calibration: new Map([[`ipc-local/${m.config.variant}, 1 vCPU`, m.calibration]]) }, stored, RULES);
  const text = [`night ${name}: ${ratioSummary(v.ratios)}`, ...v.ratios.map((r) => `  ${r.message}`), ...v.figures.map((f) => `  ${f.message}`), ...v.facts.map((f) => `  host: ${f}`), ...Object.values(v.calibration).map((c) => `  calibration: ${describeCalibration(c)}`), ...Object.values(v.unreliable).map((u) => `  unreliable: ${u}`)].join('\n');
  log(text);
  await allure.attachment(`night ${name}`, text, 'text/plain');
  return v;
}

/** A bounded busy loop on the host beside the guest (its own process, ended by its PID). */
function hostBusyLoop(seconds: number): ChildProcess {
  const child = spawn(process.execPath, ['-e', `const end = Date.now() + ${seconds * 1000}; let x = 0; while (Date.now() < end) x++;`], { stdio: 'ignore' });
  log(`perf-verdicts: host busy loop pid ${child.pid} for at most ${seconds} s`);
  return child;
}

async function reloadModule(node: LabNode, params: string): Promise<void> {
  await unloadModule(node);
  const res = await node.sh(`insmod ${remote!.module} ${params} && ${remote!.m3ctl} dvs-init 1`);
  if (res.code !== 0) throw new InfraError(`${node.name}: insmod m3ipc ${params} failed: ${res.stderr.trim() || res.stdout.trim()}`);
}

describe('perf-verdicts: the nightly judges ratios to same-run baselines, not the host (1 vCPU)', () => {
  const suite = labSuite({
    need: { nodes: [{ cpus: 1 }] },
    setup: async (h) => {
      remote = (await installKmod([h.lab.nodes[0]!], [1])).get(h.lab.nodes[0]!.name);
    },
    teardown: async (h) => {
      // A borrowed lab gets its module back without the planted delay.
      if (remote) await reloadModule(h.lab.nodes[0]!, '').catch(() => undefined);
    },
  });

  suite.it(
    'two reference nights on an idle host',
    async (h) => {
      const node = h.lab.nodes[0]!;
      for (const name of ['ref-1', 'ref-2']) await night(name, node, h.lab.state.accel.accel, true);
      const ratio = stored[0]!.ratios!.find((r) => r.a === 'm3-sendrec');
      expect(ratio?.samples.length).toBe(ROUNDS);
      // The controls below call changes only against RATIO_MIN_NIGHTS reference nights that held their calibration.
      const held = stored.filter((n) => n.ratios!.every((r) => r.outcome !== 'unreliable')).length;
      if (held < RATIO_MIN_NIGHTS) throw new InfraError(`${held} of 2 reference nights held their calibration (${ATTEMPTS} attempts each), ${RATIO_MIN_NIGHTS} needed: the host is too unsteady to judge`);
    },
    6 * 60_000,
  );

  suite.it(
    'negative control: a busy loop on the host beside the bench gives no performance regression',
    async (h) => {
      const node = h.lab.nodes[0]!;
      const busy = hostBusyLoop(480);
      let v: NightVerdicts;
      try {
        v = judgedOrBroken(await night('busy', node, h.lab.state.accel.accel, false), 'the night beside the host busy loop');
      } finally {
        if (busy.pid !== undefined && busy.exitCode === null) process.kill(busy.pid, 'SIGKILL');
      }
      expect(v.ratios.length).toBe(2);
      expect(v.ratios.filter((r) => r.outcome === 'regression').map((r) => r.message)).toEqual([]);
    },
    6 * 60_000,
  );

  suite.it(
    'positive control: a planted sendrec delay is flagged as a regression of the sendrec ratio, with its size',
    async (h) => {
      const node = h.lab.nodes[0]!;
      const rates = stored.filter((n) => n.ratios!.every((r) => r.outcome !== 'unreliable')).map((n) => n.figures.find((f) => f.case === 'm3-sendrec')!.median);
      const rate = rates.reduce((a, b) => a + b, 0) / rates.length;
      // One sendrec round trip is two one-way messages: 2 / rate seconds. A delay of
      // DROP / (1 - DROP) of it takes DROP of the rate away.
      const delayUs = Math.max(1, Math.round(((2 / rate) * 1e6 * DROP) / (1 - DROP)));
      log(`perf-verdicts: sendrec at ${rate.toFixed(0)} msg/s in the reference nights; planting test_sendrec_delay_us=${delayUs}`);
      await allure.parameter('test_sendrec_delay_us', `${delayUs}`);
      await reloadModule(node, `test_sendrec_delay_us=${delayUs}`);
      try {
        const v = judgedOrBroken(await night('planted', node, h.lab.state.accel.accel, false), 'the night with the planted delay');
        const sendrec = v.ratios.find((r) => r.a === 'm3-sendrec' && r.b === 'pipe')!;
        expect({ outcome: sendrec.outcome, message: sendrec.message }).toMatchObject({ outcome: 'regression' });
        expect(sendrec.change!).toBeLessThan(-MARGIN);
        expect(sendrec.message).toMatch(/REGRESSION: m3-sendrec \/ pipe .* change −\d+\.\d%/);
      } finally {
        await reloadModule(node, '');
      }
    },
    6 * 60_000,
  );
});
