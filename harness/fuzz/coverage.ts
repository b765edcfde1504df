import { execa } from 'execa';
import { InfraError } from '../errors.ts';

/**
 * The module's coverage from m3fuzz's `--cover FILE`: the PCs KCOV traced in
 * the guest, mapped on the host to m3ipc.ko's call sites of
 * `__sanitizer_cov_trace_pc` (one per basic block the compiler instrumented)
 * and from there to source lines with the module's DWARF (addr2line).
 *
 * KCOV stores each PC minus the KASLR offset (canonicalize_ip), module PCs
 * too; the file carries the kernel's `_text` so the offset is known, and the
 * module's section addresses from sysfs.
 */
export interface CoverFile {
  header: string;
  /** Runtime `_text`; KASLR offset = _text - KERNEL_TEXT_BASE. */
  kernelText?: bigint;
  sections: Map<string, bigint>;
  pcs: bigint[];
}

/** __START_KERNEL_map + LOAD_PHYSICAL_ADDR of x86-64: where `_text` is without KASLR. */
export const KERNEL_TEXT_BASE = 0xffffffff81000000n;

export function parseCoverFile(text: string): CoverFile {
  const out: CoverFile = { header: '', sections: new Map(), pcs: [] };
  for (const [i, line] of text.split('\n').entries()) {
    const l = line.trim();
    if (!l) continue;
    if (l.startsWith('#')) {
      out.header ||= l.replace(/^#\s*/, '');
      continue;
    }
    const [kind, a, b] = l.split(/\s+/);
    try {
      if (kind === 'pc' && a) out.pcs.push(BigInt(a));
      else if (kind === 'section' && a && b) out.sections.set(a, BigInt(b));
      else if (kind === 'kernel' && a === '_text' && b) out.kernelText = BigInt(b);
      else throw new Error('unknown line');
    } catch {
      throw new InfraError(`coverage file line ${i + 1}: cannot read ${JSON.stringify(l.slice(0, 80))}`);
    }
  }
  return out;
}

/**
 * The instrumented sites of a relocatable module, per section: the offset of
 * each call's return address (KCOV records _RET_IP_), from the relocations
 * `objdump -r` lists against __sanitizer_cov_trace_pc (the 4-byte field of a
 * 5-byte call: return address = field + 4).
 */
export function parseSites(objdumpR: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  let section = '';
  for (const line of objdumpR.split('\n')) {
    const head = /^RELOCATION RECORDS FOR \[(.+)\]:/.exec(line);
    if (head) {
      section = head[1]!;
      continue;
    }
    const m = /^([0-9a-f]+)\s+R_X86_64_(?:PLT32|PC32)\s+__sanitizer_cov_trace_pc/.exec(line.trim());
    if (m && section) {
      const list = out.get(section) ?? [];
      list.push(Number.parseInt(m[1]!, 16) + 4);
      out.set(section, list);
    }
  }
  for (const list of out.values()) list.sort((a, b) => a - b);
  return out;
}

export interface MappedPcs {
  /** Covered sites per section (offsets as in parseSites). */
  covered: Map<string, Set<number>>;
  /** PCs at no known site: a wrong module, a wrong KASLR offset, or code not of the module. */
  unmatched: number;
}

export function mapPcs(cover: CoverFile, sites: Map<string, number[]>): MappedPcs {
  const kaslr = cover.kernelText === undefined ? 0n : cover.kernelText - KERNEL_TEXT_BASE;
  const bases = [...cover.sections].filter(([name]) => sites.has(name)).sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const siteSets = new Map([...sites].map(([s, l]) => [s, new Set(l)]));
  const covered = new Map<string, Set<number>>();
  let unmatched = 0;
  for (const pc of cover.pcs) {
    const addr = pc + kaslr;
    let hit = false;
    for (let i = bases.length - 1; i >= 0; i--) {
      const [name, base] = bases[i]!;
      if (addr < base) continue;
      const off = Number(addr - base);
      if (siteSets.get(name)!.has(off)) {
        const set = covered.get(name) ?? new Set<number>();
        set.add(off);
        covered.set(name, set);
        hit = true;
      }
      break;
    }
    if (!hit) unmatched++;
  }
  return { covered, unmatched };
}

export interface FileCoverage {
  file: string;
  lines: number;
  covered: number;
  /** Lines with a block no run reached, ascending. */
  missed: number[];
}

export interface CoverageReport {
  sites: { covered: number; total: number };
  /** The module's own source lines (kmod/). */
  lines: { covered: number; total: number };
  /** Lines of kernel headers inlined into the module. */
  inlined: { covered: number; total: number };
  files: FileCoverage[];
  unmatched: number;
  pcs: number;
}

/**
 * A short name for a source file of the DWARF: the module's as `kmod/...`
 * (the build compiles a copy under kmod/build/kernels/REL/module/; a bare
 * name is one of those), a kernel header as `<kernel>/include/...`.
 */
export function sourceName(f: string): string {
  const kernel = /.*\/linux-source-[^/]+\/(.*)$/.exec(f) ?? /^\/usr\/src\/linux-headers-[^/]+\/(.*)$/.exec(f);
  if (kernel) return `<kernel>/${kernel[1]}`;
  if (!f.includes('/')) return `kmod/module/${f}`;
  return f.replace(/^.*\/kmod\/build\/kernels\/[^/]+\//, 'kmod/').replace(/^.*\/kmod\//, 'kmod/');
}

/** `file:line` of each site (the call instruction, one byte before its return address). */
async function siteLines(ko: string, section: string, offsets: number[]): Promise<string[]> {
  const res = await execa('addr2line', ['-e', ko, '-j', section], { input: offsets.map((o) => (o - 1).toString(16)).join('\n'), reject: false });
  if (res.exitCode !== 0) throw new InfraError(`addr2line -e ${ko} -j ${section} failed: ${res.stderr}`);
  const lines = res.stdout.split('\n').filter((l) => l !== '');
  if (lines.length !== offsets.length) throw new InfraError(`addr2line answered ${lines.length} lines for ${offsets.length} addresses`);
  return lines.map((l) => l.replace(/ \(discriminator \d+\)$/, ''));
}

/**
 * Site and source-line coverage of m3ipc.ko (built with -g) from --cover
 * files: several (nodes of a cluster, runs of a night) give their union.
 */
export async function moduleCoverage(ko: string, coverTexts: string | string[]): Promise<CoverageReport> {
  const objdump = await execa('objdump', ['-r', ko], { reject: false });
  if (objdump.exitCode !== 0) throw new InfraError(`objdump -r ${ko} failed: ${objdump.stderr}`);
  const sites = parseSites(objdump.stdout);
  const total = [...sites.values()].reduce((n, l) => n + l.length, 0);
  if (total === 0) throw new InfraError(`${ko} has no KCOV call sites: not built for a CONFIG_KCOV kernel`);
  const mapped: MappedPcs = { covered: new Map(), unmatched: 0 };
  let pcs = 0;
  for (const text of Array.isArray(coverTexts) ? coverTexts : [coverTexts]) {
    const cover = parseCoverFile(text);
    const one = mapPcs(cover, sites);
    pcs += cover.pcs.length;
    mapped.unmatched += one.unmatched;
    for (const [sec, set] of one.covered) for (const o of set) (mapped.covered.get(sec) ?? mapped.covered.set(sec, new Set()).get(sec)!).add(o);
  }
  const allLines = new Map<string, Set<string>>();
  const coveredLines = new Map<string, Set<string>>();
  let coveredSites = 0;
  for (const [section, offsets] of sites) {
    const where = await siteLines(ko, section, offsets);
    const hit = mapped.covered.get(section) ?? new Set<number>();
    coveredSites += hit.size;
    offsets.forEach((o, i) => {
      const loc = where[i]!;
      if (loc.startsWith('??')) return;
      const file = sourceName(loc.slice(0, loc.lastIndexOf(':')));
      const key = loc.slice(loc.lastIndexOf(':') + 1);
      (allLines.get(file) ?? allLines.set(file, new Set()).get(file)!).add(key);
      if (hit.has(o)) (coveredLines.get(file) ?? coveredLines.set(file, new Set()).get(file)!).add(key);
    });
  }
  const files = [...allLines]
    .map(([file, set]) => ({
      file,
      lines: set.size,
      covered: coveredLines.get(file)?.size ?? 0,
      missed: [...set].filter((l) => !coveredLines.get(file)?.has(l)).map(Number).filter(Number.isInteger).sort((a, b) => a - b),
    }))
    .sort((a, b) => a.file.localeCompare(b.file));
  const sum = (fs: FileCoverage[]) => ({ covered: fs.reduce((n, f) => n + f.covered, 0), total: fs.reduce((n, f) => n + f.lines, 0) });
  const own = files.filter((f) => !f.file.startsWith('<kernel>/'));
  return {
    sites: { covered: coveredSites, total },
    lines: sum(own),
    inlined: sum(files.filter((f) => f.file.startsWith('<kernel>/'))),
    files,
    unmatched: mapped.unmatched,
    pcs,
  };
}

/** "12-15,20" for [12,13,14,15,20]. */
export function lineRanges(lines: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < lines.length; ) {
    let j = i;
    while (j + 1 < lines.length && lines[j + 1] === lines[j]! + 1) j++;
    out.push(j === i ? `${lines[i]}` : `${lines[i]}-${lines[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

export function formatCoverage(r: CoverageReport, opts: { missed?: boolean } = {}): string {
  const pct = (a: number, b: number) => (b ? ((100 * a) / b).toFixed(1) : '0.0');
  const head = [
    `module coverage: ${r.lines.covered}/${r.lines.total} lines (${pct(r.lines.covered, r.lines.total)}%), ${r.sites.covered}/${r.sites.total} blocks (${pct(r.sites.covered, r.sites.total)}%)`,
    `${r.pcs} PCs traced, ${r.unmatched} at no site of the module; kernel header lines inlined: ${r.inlined.covered}/${r.inlined.total}`,
  ];
  const rows = r.files
    .filter((f) => !f.file.startsWith('<kernel>/'))
    .map((f) => `  ${f.file.padEnd(28)} ${`${f.covered}/${f.lines}`.padStart(9)}  ${pct(f.covered, f.lines).padStart(5)}%${opts.missed && f.missed.length ? `  missed: ${lineRanges(f.missed)}` : ''}`);
  return [...head, ...rows].join('\n');
}
