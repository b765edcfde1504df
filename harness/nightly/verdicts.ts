import { unreliableBecause, type CellCalibration } from '../bench/calibrate.ts';
import type { ConfigResult } from '../bench/ipc-local.ts';
import type { RemoteResult } from '../bench/ipc-remote.ts';
import {
  cellKey,
  figuresFromLocal,
  figuresFromRemote,
  hostFacts,
  judgeAll,
  judgeRatios,
  ratiosFromLocal,
  ratiosFromRemote,
  targetsFromLocal,
  targetsFromRemote,
  type Judged,
  type RatioJudged,
  type RatioRules,
  type StoredNight,
  type TargetCheck,
} from './history.ts';

/**
 * A night's bench outcome from its figures and the stored nights: pure logic
 * (tests/unit/nightly-ratios.test.ts runs whole nights through it).
 */
export interface NightVerdicts {
  /** Absolute figures: shown, never a verdict. */
  figures: Judged[];
  /** Ratios to same-run baselines: the performance verdicts. */
  ratios: RatioJudged[];
  targets: TargetCheck[];
  /** Cell key -> calibration at its start and end. */
  calibration: Record<string, CellCalibration>;
  /** Cell key -> why its figures are unreliable. */
  unreliable: Record<string, string>;
  /** What the calibration and the baselines say about the host against the reference night. */
  facts: string[];
}

const cellName = (variant: string, cpus?: number) => (cpus === undefined ? variant : `${variant}, ${cpus} vCPU`);

/**
 * `calibration` is keyed as the bench writes it: `${bench}/${cell}` (e.g.
 * `ipc-local/default, 1 vCPU`); the record keys it by cell key (bench,
 * accelerator, kernel, vCPUs), which is what matches across nights.
 */
export function nightVerdicts(
  bench: { local: ConfigResult[]; remote?: { result: RemoteResult; variant: string }; calibration: Map<string, CellCalibration> },
  nights: StoredNight[],
  rules: RatioRules & { calibrationBound: number },
): NightVerdicts {
  const calibration: Record<string, CellCalibration> = {};
  for (const c of bench.local) {
    const cal = bench.calibration.get(`ipc-local/${cellName(c.variant, c.cpus)}`);
    if (cal) calibration[cellKey('ipc-local', c.accel, c.variant, c.cpus)] = cal;
  }
  if (bench.remote) {
    const cal = bench.calibration.get(`ipc-remote/${cellName(bench.remote.variant)}`);
    if (cal) calibration[cellKey('ipc-remote', bench.remote.result.accel, bench.remote.variant)] = cal;
  }
  const unreliable: Record<string, string> = {};
  for (const [key, cal] of Object.entries(calibration)) {
    const why = unreliableBecause(cal, rules.calibrationBound);
    if (why) unreliable[key] = why;
  }
  const tonight = [...figuresFromLocal(bench.local), ...(bench.remote ? figuresFromRemote(bench.remote.result, bench.remote.variant) : [])];
  const ratios = [...ratiosFromLocal(bench.local), ...(bench.remote ? ratiosFromRemote(bench.remote.result, bench.remote.variant) : [])];
  return {
    figures: judgeAll(tonight, nights, rules.margin),
    ratios: judgeRatios(ratios, nights, rules, new Map(Object.entries(unreliable))),
    targets: [...targetsFromLocal(bench.local), ...(bench.remote ? targetsFromRemote(bench.remote.result, bench.remote.variant) : [])],
    calibration,
    unreliable,
    facts: hostFacts({ calibration, figures: tonight, nights, margin: rules.margin }),
  };
}

/** The ratio verdicts in one line for the summary. */
export function ratioSummary(ratios: RatioJudged[]): string {
  const n = (o: RatioJudged['outcome']) => ratios.filter((r) => r.outcome === o).length;
  return `${ratios.length} ratios to same-run baselines: ${n('new')} new, ${n('within')} within, ${n('improved')} improved, ${n('regression')} REGRESSED, ${n('unreliable')} unreliable`;
}
