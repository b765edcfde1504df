import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../../../harness/paths.ts';
import { tempDir } from './temp-dir.ts';

/**
 * A C driver of one of m3fuzz's headers (tests/fixtures/fuzz/*-driver.c),
 * compiled on the host with the kmod build's warnings as errors and run:
 * each line it prints is "key value...", returned as a record.
 */
export function runCDriver(fixture: string): Record<string, string> {
  const bin = path.join(tempDir('m3lab-cdriver-'), path.basename(fixture, '.c'));
  execFileSync('gcc', ['-Wall', '-Wextra', '-Werror', '-o', bin, path.join(repoRoot, fixture)]);
  return Object.fromEntries(
    execFileSync(bin, { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]),
  ) as Record<string, string>;
}
