import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { repoRoot } from '../paths.ts';

/**
 * A fuzzer run as a program that can be replayed and cut down: the calls
 * each process and thread of m3fuzz last made (its ring logs, read with
 * `m3fuzz --dump DIR --raw`), and the regions their pointers name.
 */
export interface Call {
  op: string;
  cmd: number;
  pk: string;
  ptr: bigint;
  /** The argument as it went in (a put2lcl: its forged header after the struct). */
  arg: Buffer;
}

export interface ThreadProg {
  rt: boolean;
  calls: Call[];
}

export interface ProcProg {
  slot: number;
  uid: number;
  threads: ThreadProg[];
}

export interface Program {
  seed: string;
  data: bigint;
  dataLen: bigint;
  rdonly: bigint;
  unmapped: bigint;
  procs: ProcProg[];
}

const num = (s: string | undefined, what: string, line: number): bigint => {
  try {
    if (s === undefined) throw new Error();
    return BigInt(s);
  } catch {
    throw new ConfigError(`line ${line}`, `${what} is not a number: ${JSON.stringify(s)}`);
  }
};

/**
 * Parses the raw dumps of one node's rings into a program: a process per
 * ring (the current incarnation of each slot; a killed one's previous
 * incarnation is left out: its calls ran before the ones that matter),
 * each thread's calls in the order they were made.
 */
export function parseRawDump(text: string): Program {
  let prog: Program | undefined;
  let proc: ProcProg | undefined;
  let rtMask = 0;
  let skip = false;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line) continue;
    const f = line.split(/\s+/);
    if (f[0] === 'ring') {
      const kv = Object.fromEntries(f.slice(1).map((x) => x.split('=') as [string, string]));
      const p: Program = {
        seed: kv.seed ?? '?',
        data: num(kv.data, 'data', i + 1),
        dataLen: num(kv.data_len, 'data_len', i + 1),
        rdonly: num(kv.rdonly, 'rdonly', i + 1),
        unmapped: num(kv.unmapped, 'unmapped', i + 1),
        procs: [],
      };
      prog ??= p;
      if (p.data !== prog.data) throw new ConfigError(`line ${i + 1}`, 'rings of different fuzzer runs (another data area) in one dump');
      const slot = Number(kv.slot);
      skip = prog.procs.some((q) => q.slot === slot);
      rtMask = Number(num(kv.rt_mask, 'rt_mask', i + 1));
      proc = { slot, uid: Number(kv.uid), threads: Array.from({ length: Number(kv.nthreads) }, (_, t) => ({ rt: ((rtMask >> t) & 1) === 1, calls: [] })) };
      if (!skip) prog.procs.push(proc);
      continue;
    }
    if (f[0] !== 'call') throw new ConfigError(`line ${i + 1}`, `not a ring or call line: ${JSON.stringify(line.slice(0, 60))}`);
    if (!proc) throw new ConfigError(`line ${i + 1}`, 'a call before any ring line');
    if (skip) continue;
    // call SEQ THREAD TID OP CMD PK STATE RET ALEN PTR HEX
    const [, , thread, , op, cmd, pk, , , , ptr, hex = ''] = f;
    const t = proc.threads[Number(thread)];
    if (!t) throw new ConfigError(`line ${i + 1}`, `thread ${thread} of a ${proc.threads.length}-thread process`);
    t.calls.push({ op: op!, cmd: Number(num(cmd, 'cmd', i + 1)), pk: pk!, ptr: num(ptr, 'ptr', i + 1), arg: Buffer.from(hex, 'hex') });
  }
  if (!prog) throw new ConfigError('dump', 'no ring in it');
  return prog;
}

export function callCount(p: Program): number {
  return p.procs.reduce((n, q) => n + q.threads.reduce((m, t) => m + t.calls.length, 0), 0);
}

/** Processes without a call, and threads without a call, go. */
export function compact(p: Program): Program {
  const procs = p.procs
    .map((q) => ({ ...q, threads: q.threads.filter((t) => t.calls.length > 0) }))
    .filter((q) => q.threads.length > 0);
  return { ...p, procs };
}

const KIND: Record<string, string> = { signal: 'R_SIGNAL', procread: 'R_PROCREAD', reopen: 'R_REOPEN' };
const PK: Record<string, string> = { good: 'R_PK_GOOD', NULL: 'R_PK_NULL', unmapped: 'R_PK_OTHER', kernel: 'R_PK_OTHER', straddle: 'R_PK_STRADDLE', rdonly: 'R_PK_OTHER' };

const hex64 = (v: bigint) => `0x${BigInt.asUintN(64, v).toString(16)}ULL`;

/** A standalone C program (it needs only the module's uapi header) that replays p, with TAP output. */
export function reproC(p: Program, o: { what: string; seconds: number; runtime?: string }): string {
  const runtime = o.runtime ?? readFileSync(path.join(repoRoot, 'harness', 'fuzz', 'repro-runtime.c'), 'utf8');
  const out: string[] = [];
  out.push('// SPDX-License-Identifier: GPL-2.0');
  out.push('/*');
  out.push(` * ${o.what}`);
  out.push(' *');
  out.push(` * Written by m3lab fuzz minimize from m3fuzz seed ${p.seed}: ${p.procs.length} processes,`);
  out.push(` * ${p.procs.reduce((n, q) => n + q.threads.length, 0)} threads, ${callCount(p)} calls, each thread's calls replayed in a loop.`);
  out.push(' */');
  out.push('#ifndef _GNU_SOURCE');
  out.push('#define _GNU_SOURCE');
  out.push('#endif');
  out.push('#include <stdint.h>');
  out.push('#include "uapi/m3ipc.h"	/* cc -I kmod */');
  out.push('');
  out.push(`#define REPRO_SECONDS ${o.seconds}`);
  out.push(`#define REPRO_WHAT ${JSON.stringify(o.what)}`);
  out.push(`#define REC_DATA ${hex64(p.data)}`);
  out.push(`#define REC_DATA_LEN ${hex64(p.dataLen)}`);
  out.push(`#define REC_RDONLY ${hex64(p.rdonly)}`);
  out.push(`#define REC_UNMAPPED ${hex64(p.unmapped)}`);
  out.push('');
  out.push('enum { R_IOCTL, R_SIGNAL, R_PROCREAD, R_REOPEN };');
  out.push('enum { R_PK_GOOD, R_PK_NULL, R_PK_STRADDLE, R_PK_OTHER };');
  out.push('struct r_call { uint32_t cmd; uint8_t kind, pk; uint16_t alen; uint64_t ptr; const uint8_t *arg; };');
  out.push('struct r_thread { int rt; int ncalls; const struct r_call *calls; };');
  out.push('struct r_proc { int uid; int nthreads; const struct r_thread *threads; };');
  out.push('');
  const threadsOf: string[] = [];
  p.procs.forEach((q, pi) => {
    q.threads.forEach((t, ti) => {
      t.calls.forEach((c, ci) => {
        if (c.arg.length) out.push(`static const uint8_t a${pi}_${ti}_${ci}[] = { ${[...c.arg].map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ')} };`);
      });
      out.push(`static const struct r_call c${pi}_${ti}[] = {`);
      for (const [ci, c] of t.calls.entries()) {
        const kind = KIND[c.op] ?? 'R_IOCTL';
        const ptr = c.pk === 'kernel' || c.pk === 'unmapped' || c.pk === 'rdonly' || c.pk === 'straddle' ? hex64(c.ptr) : '0';
        out.push(`\t{ ${`0x${c.cmd.toString(16)}`}, ${kind}, ${PK[c.pk] ?? 'R_PK_GOOD'}, ${c.arg.length}, ${ptr}, ${c.arg.length ? `a${pi}_${ti}_${ci}` : '0'} }, /* ${c.op} */`);
      }
      if (t.calls.length === 0) out.push('\t{ 0, R_PROCREAD, 0, 0, 0, 0 },');
      out.push('};');
    });
    out.push(`static const struct r_thread t${pi}[] = {`);
    q.threads.forEach((t, ti) => out.push(`\t{ ${t.rt ? 1 : 0}, ${Math.max(1, t.calls.length)}, c${pi}_${ti} },`));
    out.push('};');
    threadsOf.push(`\t{ ${q.uid}, ${q.threads.length}, t${pi} }, /* fuzzer process slot ${q.slot}${q.uid ? ', unprivileged' : ''} */`);
  });
  out.push('static const struct r_proc repro_procs[] = {', ...threadsOf, '};');
  out.push(`static const int repro_nprocs = ${p.procs.length};`);
  out.push('');
  // The report reader and stack printer m3fuzz uses, so both see the same reports.
  out.push(readFileSync(path.join(repoRoot, 'kmod', 'tests', 'fuzz_kmsg.h'), 'utf8'));
  out.push(runtime);
  return `${out.join('\n')}\n`;
}
