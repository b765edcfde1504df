import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { ConfigError } from '../errors.ts';
import { z } from 'zod';
import { parseWith } from '../config/schema.ts';

export interface PackagePin {
  package: string;
  version: string;
}

export interface Recipe {
  name: string;
  kernel: { release: string; image: PackagePin; headers: PackagePin[]; modules: string[] };
  packages: PackagePin[];
  programs: { from: string; to: string }[];
  node: string;
  compression: 'lz4' | 'gzip';
}

const pin = z.strictObject({ package: z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/), version: z.string().min(1) });

/** images/recipe.yaml's shape (harness/config/schema.ts names the field of any mistake). */
const recipeSchema = z.strictObject({
  name: z.string().min(1),
  kernel: z.strictObject({
    release: z.string().min(1),
    image: pin,
    headers: z.array(pin),
    modules: z.array(z.string().regex(/^[a-z0-9_]+$/)),
  }),
  packages: z.array(pin),
  programs: z.array(z.strictObject({ from: z.string().regex(/^\//), to: z.string().regex(/^\//) })),
  node: z.string().regex(/^\//),
  compression: z.enum(['lz4', 'gzip']).default('lz4'),
});

export function parseRecipe(text: string, source = 'recipe'): Recipe {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new ConfigError(source, `not valid YAML: ${(err as Error).message}`);
  }
  return parseWith(recipeSchema, doc);
}

export function loadRecipe(path: string): Recipe {
  return parseRecipe(readFileSync(path, 'utf8'), path);
}
