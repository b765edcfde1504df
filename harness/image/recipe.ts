import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { ConfigError } from '../errors.ts';
import { join, list, object, oneOf, string } from '../config/validate.ts';

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

function pin(value: unknown, field: string): PackagePin {
  const o = object(value, field, ['package', 'version']);
  return {
    package: string(o.package, join(field, 'package'), /^[a-z0-9][a-z0-9+.-]+$/),
    version: string(o.version, join(field, 'version')),
  };
}

export function parseRecipe(text: string, source = 'recipe'): Recipe {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new ConfigError(source, `not valid YAML: ${(err as Error).message}`);
  }
  const r = object(doc, '', ['name', 'kernel', 'packages', 'programs', 'node', 'compression']);
  const k = object(r.kernel, 'kernel', ['release', 'image', 'headers', 'modules']);
  return {
    name: string(r.name, 'name'),
    kernel: {
      release: string(k.release, 'kernel.release'),
      image: pin(k.image, 'kernel.image'),
      headers: list(k.headers, 'kernel.headers').map((h, i) => pin(h, join('kernel.headers', i))),
      modules: list(k.modules, 'kernel.modules').map((m, i) =>
        string(m, join('kernel.modules', i), /^[a-z0-9_]+$/),
      ),
    },
    packages: list(r.packages, 'packages').map((p, i) => pin(p, join('packages', i))),
    programs: list(r.programs, 'programs').map((p, i) => {
      const o = object(p, join('programs', i), ['from', 'to']);
      return {
        from: string(o.from, join(join('programs', i), 'from'), /^\//),
        to: string(o.to, join(join('programs', i), 'to'), /^\//),
      };
    }),
    node: string(r.node, 'node', /^\//),
    compression: oneOf(r.compression ?? 'lz4', 'compression', ['lz4', 'gzip'] as const),
  };
}

export function loadRecipe(path: string): Recipe {
  return parseRecipe(readFileSync(path, 'utf8'), path);
}
