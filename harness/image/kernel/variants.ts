import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigError } from '../../errors.ts';
import { z } from 'zod';
import { parseWith } from '../../config/schema.ts';
import { repoRoot } from '../../paths.ts';
import type { PackagePin } from '../recipe.ts';

/** `default` is the recipe's Debian kernel; the others are built from linux-source. */
export const KERNEL_VARIANTS = ['default', 'debug', 'up'] as const;
export type KernelVariant = (typeof KERNEL_VARIANTS)[number];

export interface BuiltVariantSpec {
  name: Exclude<KernelVariant, 'default'>;
  fragments: string[];
  describe: string;
  /** Boot parameters every guest of this variant gets (not part of the build key). */
  append: string;
}

export interface VariantsFile {
  source: PackagePin;
  variants: BuiltVariantSpec[];
}

export const kernelsDir = path.join(repoRoot, 'images', 'kernels');
export const variantsPath = path.join(kernelsDir, 'variants.yaml');

export function isKernelVariant(v: string): v is KernelVariant {
  return (KERNEL_VARIANTS as readonly string[]).includes(v);
}

/** Parses `--kernel a,b` or a lab-file value; names the field on a bad value. */
export function parseKernelList(value: string, field = '--kernel'): KernelVariant[] {
  const out = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (out.length === 0) throw new ConfigError(field, `must name a kernel variant (${KERNEL_VARIANTS.join(', ')})`);
  for (const v of out) if (!isKernelVariant(v)) throw new ConfigError(field, `unknown kernel variant ${JSON.stringify(v)} (have: ${KERNEL_VARIANTS.join(', ')})`);
  return out as KernelVariant[];
}

const builtVariant = z.strictObject({
  fragments: z.array(z.string().regex(/^[a-z0-9-]+\.config$/)),
  describe: z.string().default(''),
  /** Boot parameters every guest of this variant gets (not part of the build key). */
  append: z.string().regex(/^[A-Za-z0-9_.,=:/ -]*$/).default(''),
});

/** images/kernels/variants.yaml's shape: the source package and each built variant (harness/config/schema.ts names the field of any mistake). */
const variantsSchema = z.strictObject({
  source: z.strictObject({ package: z.string().regex(/^linux-source-[0-9.]+$/), version: z.string().min(1) }),
  variants: z.strictObject({ debug: builtVariant.optional(), up: builtVariant.optional() }),
});

export function parseVariants(text: string, source = variantsPath): VariantsFile {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (e) {
    throw new ConfigError(source, `not valid YAML: ${(e as Error).message}`);
  }
  const top = parseWith(variantsSchema, doc);
  return {
    source: top.source,
    variants: Object.entries(top.variants).map(([name, v]) => ({ name: name as BuiltVariantSpec['name'], fragments: v!.fragments, describe: v!.describe, append: v!.append })),
  };
}

export function loadVariants(): VariantsFile {
  return parseVariants(readFileSync(variantsPath, 'utf8'));
}

/**
 * The symbols a fragment asks for, as `CONFIG_X -> value` (`n` for "not set"),
 * so a build can check that olddefconfig kept them.
 */
export function fragmentWants(text: string): Map<string, string> {
  const wants = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    let m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (m) {
      wants.set(m[1]!, m[2]!);
      continue;
    }
    m = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line);
    if (m) wants.set(m[1]!, 'n');
  }
  return wants;
}

/** Symbols whose final value differs from what a fragment asked: `[symbol, wanted, got]`. */
export function configMismatches(wants: Map<string, string>, finalConfig: string): [string, string, string][] {
  const have = fragmentWants(finalConfig);
  const out: [string, string, string][] = [];
  for (const [sym, want] of wants) {
    const got = have.get(sym) ?? 'n';
    if (want !== got) out.push([sym, want, got]);
  }
  return out;
}
