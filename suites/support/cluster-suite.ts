import * as allure from 'allure-js-commons';
import { afterEach, beforeEach, expect } from 'vitest';
import { InfraError } from '../../harness/errors.ts';
import { Nemesis } from '../../harness/faults/nemesis.ts';
import type { LabNode } from '../../harness/lab/node.ts';
import { M3Cluster, type ClusterOptions } from '../../harness/m3/cluster.ts';
import { parseTable } from '../../harness/m3/procfs.ts';
import { labSuite, type LabSuite } from './lab-suite.ts';

/**
 * A 3-node lab with one M3-IPC cluster (the module on every node, one DC
 * spanning them, a proxy pair for every ordered node pair), and a fresh
 * Nemesis per test whose faults are healed after it (its timeline attached).
 * Call inside `describe`; any kernel report fails the test (lab-suite.ts), and
 * a failed test's bundle gets every proxy's log.
 */
export interface ClusterSuite {
  readonly suite: LabSuite;
  /** The cluster; throws when setup did not get that far. */
  c(): M3Cluster;
  nodes(): [LabNode, LabNode, LabNode];
  /** The current test's nemesis. */
  readonly nemesis: Nemesis;
  /** Tears the cluster down (every proxy stops, rmmod on every node) and asserts no proxy or rt_* process is left. */
  expectCleanTeardown(): Promise<void>;
}

/**
 * `seed`: the suite's random choices, kept with every result and bundle (m3lab
 * replay). `nodes`: what the three nodes need (lab-file node fields), e.g. a
 * node with two vCPUs for CPU faults. `evidence`: files the suite adds to a
 * failed test's bundle.
 */
export function clusterSuite(
  opts: Partial<ClusterOptions> & { seed?: number; nodes?: Record<string, unknown>[]; evidence?: () => Record<string, string> },
  then?: (c: M3Cluster, nodes: LabNode[]) => Promise<void>,
): ClusterSuite {
  const { seed, nodes: nodeNeeds, evidence, ...clusterOpts } = opts;
  let cluster: M3Cluster | undefined;
  let nemesis = new Nemesis();
  const suite = labSuite({
    need: { nodes: nodeNeeds ?? 3 },
    seed,
    setup: async (h) => {
      const nodes = h.lab.nodes.slice(0, 3);
      const spec = h.lab.state.spec;
      cluster = await M3Cluster.setup(nodes, { ...clusterOpts, lab: { name: spec.name, insecure: spec.insecure === true } }, (l) => process.stderr.write(`${l}\n`));
      if (then) await then(cluster, nodes);
    },
    teardown: async () => {
      if (cluster) await cluster.teardown().catch(() => undefined);
    },
    // A failed test's bundle: every proxy's log, the fault timeline so far and what the suite adds (a workload's history).
    evidence: async () => ({
      ...(cluster ? await cluster.proxyLogs() : {}),
      ...(nemesis.timeline.events.length ? { 'fault-timeline.txt': nemesis.timeline.toText() } : {}),
      ...(evidence?.() ?? {}),
    }),
  });

  beforeEach(() => {
    nemesis = new Nemesis();
  });

  afterEach(async () => {
    const errors = await nemesis.healAll();
    if (nemesis.timeline.events.length) await allure.attachment('fault timeline', nemesis.timeline.toText(), { contentType: 'text/plain' });
    expect(errors).toEqual([]);
  });

  return {
    suite,
    c() {
      if (!cluster) throw new InfraError('the M3-IPC cluster was not set up (see beforeAll)');
      return cluster;
    },
    nodes() {
      const n = suite.handle().lab.nodes;
      return [n[0]!, n[1]!, n[2]!];
    },
    get nemesis() {
      return nemesis;
    },
    async expectCleanTeardown() {
      const c = cluster;
      if (!c) throw new InfraError('the M3-IPC cluster was not set up (see beforeAll)');
      cluster = undefined;
      expect(await c.teardown()).toEqual([]);
      for (const n of suite.handle().lab.nodes.slice(0, 3)) {
        const procs = parseTable((await n.sh('ps -o pid,comm')).stdout).filter((r) => /m3proxy|rt_/.test(r.COMMAND ?? r.comm ?? ''));
        expect({ node: n.name, procs }).toEqual({ node: n.name, procs: [] });
      }
    },
  };
}
