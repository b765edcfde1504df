import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExecParams, ExecResult, PerfCounter } from './protocol.ts';

/**
 * Parses `perf stat -x,` output. A counter perf cannot count on this machine
 * ("<not supported>", "<not counted>") is reported with value null, never 0:
 * under TCG the hardware events do not exist.
 */
export function parsePerfCsv(text: string): PerfCounter[] {
  const out: PerfCounter[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const f = line.split(',');
    if (f.length < 3) continue;
    const [raw, unit, event] = f;
    const unavailable = raw!.startsWith('<');
    out.push({
      event: event!,
      value: unavailable ? null : Number(raw),
      unit: unit ?? '',
      unavailable: unavailable ? raw!.replace(/[<>]/g, '') : undefined,
    });
  }
  return out;
}

export async function perfStat(
  p: ExecParams & { events: string[] },
  exec: (p: ExecParams) => Promise<ExecResult>,
): Promise<ExecResult & { counters: PerfCounter[] }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'm3perf-'));
  const file = path.join(dir, 'stat.csv');
  try {
    const res = await exec({ ...p, cmd: 'perf', args: ['stat', '-x,', '-o', file, '-e', p.events.join(','), '--', p.cmd, ...(p.args ?? [])] });
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      /* perf did not start: the exec result says why */
    }
    return { ...res, counters: parsePerfCsv(text) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
