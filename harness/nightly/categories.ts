/**
 * The night's categories, in Allure 3's own form (allurerc `categories`: the
 * Awesome report's Categories tab; Allure 3 ignores a categories.json in the
 * results, that is Allure 2's). Allure puts a result in the first category
 * whose matcher it meets; classify() applies the same rules here, for the
 * summary the command prints and the night's record.
 */

/** The label bench results carry: which kind of performance check they are. */
export const PERF_LABEL = 'perf-check';
export const PERF_FIGURE = 'figure vs earlier nights';
export const PERF_RATIO = 'ratio to same-run baseline vs earlier nights';
export const PERF_TARGET = 'bench target';

export interface Matcher {
  statuses?: string[];
  /** label name -> regular expression its value must match. */
  labels?: Record<string, string>;
  message?: string;
  trace?: string;
}

export interface CategoryRule {
  id: string;
  name: string;
  matchers: Matcher[];
  groupBy?: ({ label: string } | 'status')[];
  groupByMessage?: boolean;
  expand?: boolean;
}

/**
 * The verdict rules of the lab (docs/verdicts.md) plus performance:
 * - performance: a ratio to its same-run baseline that regressed (beyond the margin and
 *   significant against the reference nights), or a missed target (failed);
 * - module bug, kernel: failed with a kernel report, a panic (also at boot) or a
 *   hung guest — KernelFailure and its kind are named KernelAssertionError, which
 *   is how their stack trace begins;
 * - module bug: any other failed test (an assertion, a module that does not build);
 * - lab failure: broken, i.e. only the host side failed (QEMU, boot deadline, SSH).
 */
export const CATEGORIES: CategoryRule[] = [
  {
    id: 'performance',
    name: 'Performance regression or missed bench target',
    matchers: [{ statuses: ['failed'], labels: { [PERF_LABEL]: '.+' } }],
    groupBy: [{ label: PERF_LABEL }],
    // Every message names its own figures: grouping by message would make one group per test.
    groupByMessage: false,
    expand: true,
  },
  {
    id: 'module-bug-kernel',
    name: 'Module bug: kernel report, panic or hang',
    matchers: [
      { statuses: ['failed'], trace: '^KernelAssertionError' },
      { statuses: ['failed'], message: 'kernel report while|kernel (panic|report) during boot|the guest answers nothing' },
    ],
    expand: true,
  },
  { id: 'module-bug', name: 'Module bug: failed assertion', matchers: [{ statuses: ['failed'] }], expand: true },
  { id: 'lab-failure', name: 'Lab failure (broken: host side, not the module)', matchers: [{ statuses: ['broken'] }] },
];

/** What classify() looks at in a result (a subset of Allure's result JSON). */
export interface ResultLike {
  status?: string;
  labels?: { name: string; value?: string }[];
  statusDetails?: { message?: string; trace?: string };
}

function matches(m: Matcher, r: ResultLike): boolean {
  if (m.statuses && !m.statuses.includes(r.status ?? '')) return false;
  for (const [name, re] of Object.entries(m.labels ?? {})) {
    if (!(r.labels ?? []).some((l) => l.name === name && new RegExp(re).test(l.value ?? ''))) return false;
  }
  if (m.message !== undefined && !new RegExp(m.message).test(r.statusDetails?.message ?? '')) return false;
  if (m.trace !== undefined && !new RegExp(m.trace).test(r.statusDetails?.trace ?? '')) return false;
  return true;
}

/** The category Allure will show a result in, or undefined (passed results). */
export function classify(r: ResultLike, rules: CategoryRule[] = CATEGORIES): CategoryRule | undefined {
  return rules.find((c) => c.matchers.some((m) => matches(m, r)));
}
