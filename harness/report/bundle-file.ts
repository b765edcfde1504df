import { z } from 'zod';
import { readJsonWith } from '../config/schema.ts';

/**
 * An evidence bundle's test.json (written by bundle.ts), as its readers use it:
 * `m3lab replay` (test, file, seed, the nodes' kernels), `m3lab fuzz minimize`
 * (seed, reports) and the bisection's judge (verdict). One schema for the
 * three, so a bundle damaged or from another m3lab is named by its field.
 */
export const BundleTestFile = z.looseObject({
  test: z.string().optional(),
  file: z.string().optional(),
  verdict: z.string().optional(),
  seed: z.unknown().optional(),
  lab: z.looseObject({ spec: z.looseObject({ nodes: z.array(z.looseObject({ kernel: z.string().optional(), append: z.string().optional() })).optional() }).optional() }).optional(),
  reports: z.array(z.looseObject({ node: z.string(), kind: z.string(), title: z.string() })).optional(),
});

export type BundleTest = z.output<typeof BundleTestFile>;

export const readBundleTest = (file: string): BundleTest => readJsonWith(file, BundleTestFile);
