/**
 * Compile census of the original M3-IPC 1.6 programs against the compat layer (issue 24).
 *
 * Every user-space program of a MOL-IPC tree (a `.c` with `main(` that includes one of the
 * original API headers) is compiled with the host gcc:
 *   1. against its own headers (syntax only: the original's stub library is 32-bit inline asm),
 *      so a program that does not build even there is left out of the count;
 *   2. programs that speak the MINIX server protocol (MOLOPEN, DEV_OPEN, ...) are left out too;
 *   3. the rest are compiled and linked against `m3ipc_compat.h` and a host build of
 *      `libm3ipc_compat.a`, the original include paths mapped to shim headers that include the
 *      compat header. A missing function counts (the link fails), not only a missing macro.
 * The source tree is test data: it is only read; everything is built in a temp dir.
 *
 * The same census runs on the later DVK tree (PabloPessolani/PID5162, `--dvk`): its programs
 * include the DVK headers (include/com/stub_dvkcall.h, ...) through a header of their own
 * (tests.h, loops.h), and are compiled against `m3ipc_dvk.h`, the dvk_* and EDVS* names over
 * the compat layer.
 *
 *   node --import tsx harness/compat/census.ts [--dvk] [--json] [--verbose] [--static]
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { repoRoot } from '../paths.ts';

// Output as the tools wrote it, final newline and all (their stderr is parsed line by line).
const run = (file: string, args: string[], o: { cwd?: string; maxBuffer?: number; env?: NodeJS.ProcessEnv } = {}) => execa(file, args, { ...o, stripFinalNewline: false });

/** The 1.6 API headers (path from the tree's root): what a counted program includes. */
export const apiHeaders = ['kernel/minix/config.h', 'kernel/minix/ipc.h', 'kernel/minix/kipc.h', 'kernel/minix/moldebug.h', 'kernel/minix/molerrno.h', 'stub_syscall.h'];
/**
 * Headers replaced by a shim that includes `m3ipc_compat.h`: the API headers, and the table
 * headers whose types (dc_usr_t, proc_usr_t, ...) the compat header defines itself, so that
 * including the original beside it would only redefine them.
 */
export const shimmedHeaders = [
  ...apiHeaders,
  ...['dc_usr.h', 'dvs_usr.h', 'proc_usr.h', 'priv_usr.h', 'node_usr.h'].map((h) => `kernel/minix/${h}`),
  // the p_rts_flags names of proc_usr_t (SLOT_FREE, SENDING, ...), which the compat header defines
  'kernel/minix/proc_sts.h',
];

/**
 * Requests of the MINIX servers (FS, device drivers), and MoL's POSIX calls served by them
 * (mol_getpid, mol_exit): a protocol, not the IPC API.
 */
const minixProtocol = /\b(MOLOPEN|MOLCLOSE|MOLREAD|MOLWRITE|MOLSYNC|DEV_OPEN|DEV_CLOSE|DEV_READ|DEV_WRITE|DEV_GATHER|DEV_SCATTER|DEV_IOCTL|mol_(?!stub_syscall)\w+(?=\s*\())/;

export type Verdict = 'ok' | 'compat-fails' | 'orig-fails' | 'minix-protocol';

export interface ProgramResult {
  /** path from the tree's root */
  file: string;
  verdict: Verdict;
  /** the first missing name (or the first error) of the build that failed */
  missing?: string;
  /** the group of `missing` (what the compat layer leaves out) */
  cause?: string;
  error?: string;
  /**
   * Compat names an original header left in place (com.h, const.h, ...) redefines: the program
   * builds, but with the original's value (NOTIFY_MESSAGE, ...), not the compat layer's.
   */
  redefined?: string[];
}

export interface Census {
  tree: string;
  /** programs found (M of the issue's "N of M") */
  programs: number;
  /** programs that count: build against their own headers and use only the IPC API */
  counted: number;
  /** of those, the ones that compile and link against the compat layer */
  ok: number;
  results: ProgramResult[];
}

/** The tree the census reads: M3LAB_ORIG_MOLIPC, else `shared/orig/MOL-IPC` beside the clone. */
export function origTree(): string {
  return path.resolve(process.env.M3LAB_ORIG_MOLIPC ?? path.join(repoRoot, '..', 'shared', 'orig', 'MOL-IPC'));
}

/** The DVK headers (include/com, include/dvk) a DVK program includes, some through tests.h or loops.h. */
export const dvkApiHeaders = ['stub_dvkcall.h', 'dvk_calls.h', 'dvk_ioctl.h', 'dvs_errno.h', 'ipc.h', 'kipc.h'].map((h) => `include/com/${h}`);
/**
 * DVK headers replaced by a shim that includes `m3ipc_dvk.h`: the call stubs and errors, the
 * message (ipc.h, kipc.h), the table headers whose types the compat header defines, and the
 * ioctl parameters (the module's own ABI here). The others (config.h, com.h, const.h, cmd.h,
 * the call numbers of dvk_calls.h and dvk_ioctl.h, the proxy headers) stay: they only add names.
 */
export const dvkShimmedHeaders = [
  ...['stub_dvkcall.h', 'dvs_errno.h', 'ipc.h', 'kipc.h', 'dc_usr.h', 'dvs_usr.h', 'proc_usr.h', 'priv_usr.h', 'node_usr.h', 'proc_sts.h'].map((h) => `include/com/${h}`),
  'include/dvk/dvk_ioparm.h',
];

/**
 * The DVK tree (PabloPessolani/PID5162) the census reads with --dvk: M3LAB_ORIG_DVK. It is not
 * in shared/; a session gets it with its fetch tool (a bare git dir: export the tree's .c and .h
 * files to a directory and point M3LAB_ORIG_DVK there).
 */
export function dvkTree(): string | undefined {
  return process.env.M3LAB_ORIG_DVK ? path.resolve(process.env.M3LAB_ORIG_DVK) : undefined;
}

/** What tells one original tree from the other: its API headers, the shims, the compat header. */
export interface Flavor {
  name: 'MOL-IPC' | 'DVK';
  apiHeaders: string[];
  shimmedHeaders: string[];
  /** the compat header the shims include */
  header: 'm3ipc_compat.h' | 'm3ipc_dvk.h';
}

export const molipc: Flavor = { name: 'MOL-IPC', apiHeaders, shimmedHeaders, header: 'm3ipc_compat.h' };
export const dvk: Flavor = { name: 'DVK', apiHeaders: dvkApiHeaders, shimmedHeaders: dvkShimmedHeaders, header: 'm3ipc_dvk.h' };

function walk(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) return e.name === '.git' ? [] : walk(dir, r);
    return e.isFile() ? [r] : [];
  });
}

/**
 * The API headers a source includes, directly or through the tree's own headers (DVK programs
 * include tests.h, which includes include/com/...): paths resolved relative to the including
 * file, or (the original Makefiles' -I..) to the tree root.
 */
function apiIncludes(tree: string, file: string, headers: string[], seen = new Set<string>()): string[] {
  seen.add(file);
  const src = readFileSync(path.join(tree, file), 'latin1');
  const dir = path.dirname(file);
  return [...src.matchAll(/^\s*#\s*include\s*"([^"]+)"/gm)].flatMap((m) => {
    const cands = [path.normalize(path.join(dir, m[1]!)), path.normalize(m[1]!)];
    const api = cands.filter((p) => headers.includes(p));
    if (api.length > 0) return api;
    const local = cands.find((p) => !p.startsWith('..') && !seen.has(p) && existsSync(path.join(tree, p)) && statSync(path.join(tree, p)).isFile());
    return local ? apiIncludes(tree, local, headers, seen) : [];
  });
}

export function findPrograms(tree: string, flavor: Flavor = molipc): string[] {
  return walk(tree)
    .filter((f) => f.endsWith('.c'))
    .filter((f) => /\bmain\s*\(/.test(readFileSync(path.join(tree, f), 'latin1')) && apiIncludes(tree, f, flavor.apiHeaders).length > 0)
    .sort();
}

/** What the compat layer leaves out, by the first missing name. */
export function causeOf(name: string): string {
  if (/^NR_/.test(name)) return 'size constants (NR_*)';
  if (/^MSG\w*_(FORMAT|FIELDS)$/.test(name)) return 'message print macros (MSGn_*)';
  if (/^(DC|PROC|DVS|NODE|PRIV)_\w+_(FORMAT|FIELDS)$/.test(name)) return 'table print macros';
  if (/^MAX(COPY|DCNAME|BUFSIZE|PROCNAME|NODENAME)/.test(name)) return 'buffer limits (MAX*)';
  if (/^struct \w+$/.test(name)) return 'struct tags';
  if (/^mnx_\w+$/.test(name)) return 'calls (mnx_*)';
  if (/^MIGR_/.test(name)) return 'migration constants';
  if (/^header /.test(name)) return 'headers';
  return 'other';
}

/** The first missing name in gcc's output, or its first error line. */
export function firstMissing(stderr: string): string {
  const pats: [RegExp, (m: RegExpMatchArray) => string][] = [
    [/fatal error: ([^:]+): No such file/, (m) => `header ${m[1]}`],
    [/error: '(\w+)' undeclared/, (m) => m[1]!],
    [/error: implicit declaration of function '(\w+)'/, (m) => m[1]!],
    [/error: unknown type name '(\w+)'/, (m) => m[1]!],
    [/(?:invalid use of undefined type|dereferencing pointer to incomplete type) '(struct \w+)'/, (m) => m[1]!],
    [/undefined reference to `(\w+)'/, (m) => m[1]!],
    [/multiple definition of `(\w+)'/, (m) => `duplicate ${m[1]!}`],
    // an undefined print macro in a printf: "expected ')' before 'MSG1_FORMAT'"
    [/error: expected .* before '([A-Z][A-Z0-9_]+)'/, (m) => m[1]!],
    [/error: '(?:struct )?(\w+)' has no member named '(\w+)'/, (m) => `member ${m[2]}`],
  ];
  const lines = stderr.split('\n');
  // the earliest line any pattern knows, so the name is the first the compiler met
  for (const line of lines) {
    for (const [re, name] of pats) {
      const m = line.match(re);
      if (m) return name(m);
    }
  }
  return (lines.find((l) => /error/.test(l)) ?? stderr.trim().split('\n')[0] ?? 'unknown').trim();
}

async function gcc(args: string[], cwd: string): Promise<{ ok: boolean; stderr: string }> {
  try {
    // nice: the host has 2 cores and lab jobs may be running
    const res = await run('nice', ['-n', '19', 'gcc', ...args], { cwd, maxBuffer: 16 << 20, env: { ...process.env, LC_ALL: 'C' } });
    return { ok: true, stderr: res.stderr };
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    return { ok: false, stderr: err.stderr ?? err.message };
  }
}

// Both builds see the same dialect, the original's: a libc function called without its header
// is implicitly declared (a warning), as the programs were written.
// MOL_USERSPACE: the original's table headers pick their user-space types with it.
export const commonFlags = ['-std=gnu11', '-DMOL_USERSPACE'];

/** The include dirs of the original Makefiles (-I..) and the tree root. */
export function includeDirs(root: string, file: string): string[] {
  return ['-I', root, '-I', path.join(root, path.dirname(file), '..')];
}

/**
 * A mirror of the tree (real directories, symlinked files) where the shimmed headers are
 * replaced: relative includes ("../../kernel/minix/config.h") resolve textually to the shims.
 */
export function compatMirror(tree: string, dest: string, flavor: Flavor = molipc): void {
  for (const f of walk(tree)) {
    const to = path.join(dest, f);
    mkdirSync(path.dirname(to), { recursive: true });
    if (flavor.shimmedHeaders.includes(f)) {
      // The original's include guard too: headers left in place include it only #ifndef it.
      const guard = /^\s*#\s*ifndef\s+(\w+)\s*\n\s*#\s*define\s+\1\b/m.exec(readFileSync(path.join(tree, f), 'latin1'))?.[1];
      writeFileSync(to, `/* census shim for the original ${f} */\n${guard ? `#define ${guard}\n` : ''}#include <${flavor.header}>\n`);
    } else symlinkSync(path.join(tree, f), to);
  }
  for (const h of flavor.shimmedHeaders) {
    const to = path.join(dest, h);
    if (!existsSync(to)) {
      mkdirSync(path.dirname(to), { recursive: true });
      writeFileSync(to, `#include <${flavor.header}>\n`);
    }
  }
}

/** A host build of the compat library and its installed-style header, in `dir`. */
export async function buildCompat(dir: string): Promise<{ inc: string; lib: string }> {
  const inc = path.join(dir, 'compat', 'include');
  const lib = path.join(dir, 'compat');
  try {
    await run('nice', ['-n', '19', 'make', '-s', '-j1', '-C', path.join(repoRoot, 'kmod'), `BUILD=${dir}`, path.join(lib, 'libm3ipc_compat.a'), path.join(inc, 'm3ipc_compat.h'), path.join(inc, 'm3ipc_dvk.h')], { maxBuffer: 16 << 20 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`building the compat library failed: ${err.stderr ?? err.message}`);
  }
  return { inc, lib };
}

export interface CensusOptions {
  /** link with -static, as the issue's method and the guests' programs do (slower) */
  static?: boolean;
  /** which original tree this is (MOL-IPC by default) */
  flavor?: Flavor;
}

export async function census(tree = origTree(), opts: CensusOptions = {}): Promise<Census> {
  if (!existsSync(tree) || !statSync(tree).isDirectory()) {
    throw new Error(`no ${opts.flavor?.name ?? 'MOL-IPC'} tree at ${tree}: set ${opts.flavor === dvk ? 'M3LAB_ORIG_DVK to a copy of PabloPessolani/PID5162' : 'M3LAB_ORIG_MOLIPC to a copy of PabloPessolani/MOL-IPC'}`);
  }
  const flavor = opts.flavor ?? molipc;
  const programs = findPrograms(tree, flavor);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'm3-census-'));
  try {
    const { inc, lib } = await buildCompat(path.join(tmp, 'build'));
    const mirror = path.join(tmp, 'tree');
    compatMirror(tree, mirror, flavor);
    const results: ProgramResult[] = [];
    for (const file of programs) {
      const src = readFileSync(path.join(tree, file), 'latin1');
      const orig = await gcc([...commonFlags, '-fsyntax-only', ...includeDirs(tree, file), path.join(tree, file)], tmp);
      // A call of the API family that the original's headers do not declare (mnx_zcopy) would
      // not link there either: the syntax-only build cannot see that but for this warning.
      const undeclared = orig.stderr.match(/implicit declaration of function '((?:mnx|mol)_\w+)'/);
      if (!orig.ok || undeclared) {
        results.push({ file, verdict: 'orig-fails', missing: undeclared ? undeclared[1]! : firstMissing(orig.stderr) });
        continue;
      }
      if (minixProtocol.test(src)) {
        results.push({ file, verdict: 'minix-protocol', missing: src.match(minixProtocol)![1] });
        continue;
      }
      const out = path.join(tmp, 'a.out');
      const compat = await gcc([...commonFlags, '-I', inc, ...includeDirs(mirror, file), path.join(mirror, file), ...(opts.static ? ['-static'] : []), '-o', out, '-L', lib, '-lm3ipc_compat', '-lpthread', '-lrt', '-lm'], tmp);
      // only where a header redefines them (a program's own #define is its business)
      const redefined = [...new Set([...compat.stderr.matchAll(/^([^:\n]+):\d+(?::\d+)?: warning: "(\w+)" redefined/gm)].filter((m) => !m[1]!.endsWith(file)).map((m) => m[2]!))].sort();
      if (compat.ok) results.push({ file, verdict: 'ok', ...(redefined.length > 0 ? { redefined } : {}) });
      else {
        const missing = firstMissing(compat.stderr);
        results.push({ file, verdict: 'compat-fails', missing, cause: causeOf(missing), error: compat.stderr.split('\n').find((l) => /error/.test(l))?.trim() });
      }
    }
    const counted = results.filter((r) => r.verdict === 'ok' || r.verdict === 'compat-fails');
    return { tree, programs: programs.length, counted: counted.length, ok: counted.filter((r) => r.verdict === 'ok').length, results };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Failures grouped by cause, most programs first: [cause, [file, missing][]]. */
export function byCause(c: Census): [string, ProgramResult[]][] {
  const groups = new Map<string, ProgramResult[]>();
  for (const r of c.results.filter((r) => r.verdict === 'compat-fails')) groups.set(r.cause!, [...(groups.get(r.cause!) ?? []), r]);
  return [...groups.entries()].sort((a, b) => b[1].length - a[1].length);
}

export function formatCensus(c: Census, verbose = false): string {
  const n = (v: Verdict) => c.results.filter((r) => r.verdict === v).length;
  const lines = [
    `tree: ${c.tree}`,
    `${c.ok} of ${c.counted} counted programs compile against the compat layer (${c.programs} programs found; ` +
      `${n('orig-fails')} do not build against their own headers, ${n('minix-protocol')} use the MINIX server protocol)`,
  ];
  for (const [cause, rs] of byCause(c)) {
    lines.push(`  ${cause}: ${rs.length}`);
    for (const r of rs) lines.push(`    ${r.file}: ${r.missing}`);
  }
  const redefs = c.results.filter((r) => r.redefined);
  if (redefs.length > 0) {
    lines.push(`${redefs.length} build with compat names redefined by an original header they include:`);
    for (const r of redefs) lines.push(`    ${r.file}: ${r.redefined!.join(' ')}`);
  }
  if (verbose) {
    for (const v of ['orig-fails', 'minix-protocol'] as const) {
      lines.push(`not counted, ${v}:`);
      for (const r of c.results.filter((r) => r.verdict === v)) lines.push(`    ${r.file}: ${r.missing}`);
    }
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const flavor = args.includes('--dvk') ? dvk : molipc;
  const tree = flavor === dvk ? dvkTree() : origTree();
  if (!tree) throw new Error('--dvk: set M3LAB_ORIG_DVK to a copy of PabloPessolani/PID5162');
  const c = await census(tree, { static: args.includes('--static'), flavor });
  process.stdout.write(args.includes('--json') ? JSON.stringify(c, null, 2) + '\n' : formatCensus(c, args.includes('--verbose')) + '\n');
}
