import { describe, expect, it } from 'vitest';
import { parseTap, tapProblems } from '../../harness/tap.ts';

describe('TAP reader', () => {
  it('reads plan, results, directives and diagnostics', () => {
    const r = parseTap(['1..4', 'ok 1 - send to a waiting receiver', 'not ok 2 - receive from ANY', '# got -11, want 0', 'ok 3 # SKIP no second CPU', 'ok 4 - reply # TODO later'].join('\n'));
    expect(r.planned).toBe(4);
    expect(r.results.map((t) => [t.number, t.ok, t.directive])).toEqual([
      [1, true, undefined],
      [2, false, undefined],
      [3, true, 'skip'],
      [4, true, 'todo'],
    ]);
    expect(r.results[1]!.diagnostics).toEqual(['got -11, want 0']);
    expect(r.results[2]!.reason).toBe('no second CPU');
  });

  it('a failure, a skip, a short run and a bail-out are all problems', () => {
    expect(tapProblems(parseTap('1..1\nok 1 - fine\n'))).toEqual([]);
    expect(tapProblems(parseTap('1..2\nok 1 - a\nnot ok 2 - b\n# why\n'))).toEqual(['not ok 2 - b (why)']);
    expect(tapProblems(parseTap('1..3\nok 1\nok 2\n'))).toEqual(['planned 3 tests, ran 2']);
    expect(tapProblems(parseTap('ok 1\nok 2\n'))).toEqual(['no plan line (1..N): the program did not finish']);
    expect(tapProblems(parseTap('1..2\nok 1\nBail out! no /dev/m3ipc\n'))[0]).toBe('bailed out: no /dev/m3ipc');
    expect(tapProblems(parseTap('1..1\nok 1 - x # SKIP not here\n'))).toEqual(['skipped 1 - x: not here']);
  });

  it('reads a failure whose description carries a "# file:line" note', () => {
    const r = parseTap('1..1\nnot ok 1 - dvs_info: node 0 # tests/t_admin.c:87\n');
    expect(r.results).toHaveLength(1);
    expect(r.results[0]).toMatchObject({ ok: false, number: 1, description: 'dvs_info: node 0 # tests/t_admin.c:87', directive: undefined });
    expect(tapProblems(r)).toEqual(['not ok 1 - dvs_info: node 0 # tests/t_admin.c:87']);
  });

  it('keeps non-TAP lines apart', () => {
    expect(parseTap('1..1\nSegmentation fault\nok 1\n').other).toEqual(['Segmentation fault']);
  });
});
