import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../harness/cli.ts';
import { tempDir } from './support/temp-dir.ts';

/** Runs the CLI in this process; only arguments that fail before any lab, build or network is touched. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (out += `${a.join(' ')}\n`));
  const code = await main(argv);
  vi.restoreAllMocks();
  return { code, out, err };
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('m3lab command line', () => {
  it('no command prints the usage and exits 2; --help and help exit 0', async () => {
    const none = await cli();
    expect(none.code).toBe(2);
    expect(none.out).toMatch(/Commands:[\s\S]*\bup\b[\s\S]*\bnightly\b/);
    expect((await cli('--help')).code).toBe(0);
    expect((await cli('help')).code).toBe(0);
  });

  it("a command's help lists its flags and exits 0", async () => {
    const up = await cli('up', '--help');
    expect(up.code).toBe(0);
    for (const f of ['--nodes', '--cpus', '--maxcpus', '--sockets', '--memory', '--accel', '--kernel', '--lab', '--append', '--cold', '--json']) expect(up.out).toContain(f);
  });

  it('a usage error names the command and the flag, and exits 2', async () => {
    const typo = await cli('up', '--node', '3');
    expect(typo.code).toBe(2);
    expect(typo.err).toMatch(/^m3lab up: unknown option '--node' \(did you mean --nodes\?\)/);
    expect((await cli('up', '--nodes')).err).toMatch(/^m3lab up: option '--nodes <n>' argument missing/);
    const unknown = await cli('frob');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/^m3lab: unknown command 'frob'/);
  });

  it("flag values reach the commands' own checks (exit 2, the flag named)", async () => {
    expect(await cli('up', '--nodes', 'x')).toMatchObject({ code: 2, err: expect.stringContaining('--nodes: must be an integer, got "x"') });
    expect(await cli('bench', 'seal', '--shard', '1/2')).toMatchObject({ code: 2, err: expect.stringContaining('--shard: only for bench ipc-local') });
    expect(await cli('bench', 'ipc-local', '--max-running', '2')).toMatchObject({ code: 2, err: expect.stringContaining('--max-running: only with --slurm') });
    expect(await cli('bench', 'ipc-local', '--sbatch-arg', '-p', '--sbatch-arg', 'x')).toMatchObject({ code: 2, err: expect.stringContaining('--sbatch-arg: only with --slurm') });
    expect(await cli('run', '--run', 'x')).toMatchObject({ code: 2, err: expect.stringContaining('--run: only with --shard K/N or --results DIR') });
  });
});

describe('bisect, fuzz, fault and nightly: commander subcommands like the rest', () => {
  it("each help lists its own flags, not another command's", async () => {
    const helps: [string[], string[], string][] = [
      [['bisect'], ['--repeat', '--seed', '--project', '--repo', '--kmod', '--keep', 'GOOD BAD [options] -- SUITE [-t TEST]'], '--slurm'],
      [['fuzz', 'minimize'], ['<bundle>', '--seconds', '--trials', '--out', '--name', '--any'], '--missed'],
      [['fuzz', 'coverage'], ['<cover-file>', '--kernel', '--json', '--missed'], '--trials'],
      [['fault'], ['KIND NODE[,NODE...]', '--for', '--process', '--cpu', '--delay', '--loss', 'cpu-unplug'], '--seconds'],
      [['nightly'], ['--quick', '--suite', '--lab', '--margin', '--seed', '--fuzz-seconds', '--rounds', '--shard', '--results', '--night', '--slurm', '--shards', '--max-running', '--sbatch-arg', '--submit-only', 'serve'], '--repeat'],
      [['nightly', 'serve'], ['[night]', '--port'], '--quick'],
    ];
    for (const [cmd, has, hasNot] of helps) {
      const h = await cli(...cmd, '--help');
      expect(h.code, cmd.join(' ')).toBe(0);
      for (const f of has) expect(h.out, cmd.join(' ')).toContain(f);
      expect(h.out, cmd.join(' ')).not.toContain(hasNot);
    }
    // bisect's step (git bisect run's script) is not a flag for people.
    expect((await cli('bisect', '--help')).out).not.toContain('--step');
    const fuzz = await cli('fuzz', '--help');
    expect(fuzz.out).toMatch(/minimize[\s\S]*coverage/);
    expect(fuzz.out).not.toContain('--seconds');
  });

  it('a mistyped flag is named with the one meant (exit 2); the flag spelled right passes', async () => {
    const typos: [string[], RegExp][] = [
      [['bisect', 'A', 'B', '--repaet', '2', '--', 'ipc-local'], /^m3lab bisect: unknown option '--repaet' \(did you mean --repeat\?\)/],
      [['fuzz', 'minimize', 'B', '--secnds', '3'], /^m3lab fuzz minimize: unknown option '--secnds' \(did you mean --seconds\?\)/],
      [['fault', 'netem', 'node1', '--dealy', '3'], /^m3lab fault: unknown option '--dealy' \(did you mean --delay\?\)/],
      [['nightly', '--quik'], /^m3lab nightly: unknown option '--quik' \(did you mean --quick\?\)/],
    ];
    for (const [argv, err] of typos) expect(await cli(...argv), argv.join(' ')).toMatchObject({ code: 2, err: expect.stringMatching(err) });
    // Spelled right, each gets past commander to the command's own checks.
    expect((await cli('bisect', 'A', 'B', '--repeat', '0', '--', 'ipc-local')).err).not.toContain('unknown option');
    expect((await cli('nightly', '--quick', '--shards', '2')).err).not.toContain('unknown option');
    // vitest's -t belongs after --: before it, it is no flag of bisect.
    expect(await cli('bisect', 'A', 'B', '-t', 'x', '--', 'ipc-local')).toMatchObject({ code: 2, err: expect.stringMatching(/^m3lab bisect: unknown option '-t'/) });
    expect(await cli('fault', 'crash')).toMatchObject({ code: 2, err: expect.stringMatching(/^m3lab fault: missing required argument 'node'/) });
    expect(await cli('fuzz', 'frob')).toMatchObject({ code: 2, err: expect.stringMatching(/^m3lab fuzz: unknown command 'frob'/) });
    expect(await cli('nightly', 'tonight')).toMatchObject({ code: 2, err: expect.stringMatching(/^m3lab nightly: too many arguments/) });
  });

  it("a value out of range is named by the command's own check (exit 2); one in range passes it", async () => {
    // bisect: --repeat before any git; in range, the next check is GOOD's (git only, no lab).
    expect(await cli('bisect', 'A', 'B', '--repeat', '0', '--', 'ipc-local', '-t', 'x')).toMatchObject({ code: 2, err: expect.stringContaining('--repeat: must be an integer 1..20') });
    expect(await cli('bisect', 'no-such-ref', 'B', '--repeat', '2', '--', 'ipc-local', '-t', 'x')).toMatchObject({ code: 2, err: expect.stringContaining('GOOD: "no-such-ref" is not a commit') });
    expect(await cli('bisect', 'A', 'B', '--', 'ipc-local', 'extra')).toMatchObject({ code: 2, err: expect.stringContaining('SUITE: one suite after --, got ipc-local extra') });
    // nightly: --shards only with --slurm; with it, the next check (--seed) speaks.
    expect(await cli('nightly', '--quick', '--shards', '2')).toMatchObject({ code: 2, err: expect.stringContaining('--shards: only with --slurm') });
    expect(await cli('nightly', '--quick', '--slurm', '--shards', '2', '--seed', 'x')).toMatchObject({ code: 2, err: expect.stringContaining('--seed: must be a non-negative integer') });
    expect(await cli('nightly', '--quick', '--sbatch-arg', '-p', '--sbatch-arg', 'x')).toMatchObject({ code: 2, err: expect.stringContaining('--sbatch-arg: only with --slurm') });
    // fault: --delay 0..10000; in range, the next thing missing is a lab (none under this state dir).
    vi.stubEnv('M3LAB_STATE', tempDir('m3lab-cli-state-'));
    expect(await cli('fault', 'netem', 'node1', '--delay', '99999')).toMatchObject({ code: 2, err: expect.stringContaining('--delay: must be 0..10000 ms') });
    expect(await cli('fault', 'netem', 'node1', '--delay', '50')).toMatchObject({ code: 1, err: expect.stringContaining('no lab is up') });
    vi.unstubAllEnvs();
    // fuzz minimize: --seconds 1..600, checked on a bundle; in range, the bundle's missing report is next.
    const bundle = tempDir('m3lab-cli-bundle-');
    writeFileSync(path.join(bundle, 'test.json'), '{}');
    expect(await cli('fuzz', 'minimize', bundle, '--seconds', '0')).toMatchObject({ code: 2, err: expect.stringContaining('--seconds: must be an integer 1..600') });
    expect(await cli('fuzz', 'minimize', bundle, '--seconds', '10')).toMatchObject({ code: 2, err: expect.stringContaining('names no kernel report') });
    expect(await cli('fuzz', 'coverage', 'cover.txt', '--kernel', 'nope')).toMatchObject({ code: 2, err: expect.stringContaining('--kernel: unknown kernel variant "nope"') });
  });
});
