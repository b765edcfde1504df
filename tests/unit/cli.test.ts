import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../harness/cli.ts';

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

afterEach(() => vi.restoreAllMocks());

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

  it('commands that parse their own words get them as given, -- and all', async () => {
    // bisect finds its -- (else: "the suite comes after --") and its flag before it.
    expect(await cli('bisect', 'A', 'B', '--repeat', '0', '--', 'ipc-local', '-t', 'x')).toMatchObject({ code: 2, err: expect.stringContaining('--repeat: must be an integer 1..20') });
    expect(await cli('nightly', '--quick', '--shards', '2')).toMatchObject({ code: 2, err: expect.stringContaining('--shards: only with --slurm') });
    expect(await cli('fault', 'netem', 'node1', '--delay', '99999')).toMatchObject({ code: 2, err: expect.stringContaining('--delay: must be 0..10000 ms') });
    expect((await cli('fault', '--help')).code).toBe(0);
    expect((await cli('bisect', '--help')).code).toBe(0);
  });
});
