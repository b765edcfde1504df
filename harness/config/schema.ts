import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, InfraError } from '../errors.ts';

/**
 * The project's files (lab file, image recipe, kernel variants) are declared as
 * zod schemas; this turns zod's first issue into the ConfigError every loader
 * throws, naming the field (`nodes[1].cpus`, `kernel.headers[0].version`) and
 * the kind of value it wants.
 */
/** DOC checked and parsed by SCHEMA; its first problem is a ConfigError naming the field and what it wants. */
export function parseWith<S extends z.ZodType>(schema: S, doc: unknown): z.output<S> {
  const res = schema.safeParse(doc, { reportInput: true });
  if (res.success) return res.data;
  const issue = innermost(res.error.issues[0]!);
  // An unknown key is the key's own problem: named as a field, like a misspelt one.
  if (issue.code === 'unrecognized_keys') throw new ConfigError(fieldOf([...issue.path, issue.keys[0]!]), 'unknown field');
  throw new ConfigError(fieldOf(issue.path), describeIssue(issue));
}

/**
 * A file the lab wrote itself (lab.json, a cache's meta, a result file) or a
 * JSON line a program printed, checked by SCHEMA. Not the user's to fix, so a
 * bad one is an InfraError (a broken test, never a failed one), naming the file
 * and the field.
 */
export function parseJsonWith<S extends z.ZodType>(where: string, schema: S, text: string): z.output<S> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new InfraError(`${where}: not JSON (${(e as Error).message}): ${JSON.stringify(text.slice(0, 120))}`);
  }
  const res = schema.safeParse(doc);
  if (res.success) return res.data;
  // zod's own words here: the project's-file wording (integers, non-empty strings) does not hold for these.
  const issue = innermost(res.error.issues[0]!);
  throw new InfraError(`${where}: ${fieldOf(issue.path) || '(the document)'}: ${issue.message}`);
}

/** parseJsonWith over a file's content. */
export function readJsonWith<S extends z.ZodType>(file: string, schema: S): z.output<S> {
  return parseJsonWith(file, schema, readFileSync(file, 'utf8'));
}

/**
 * A union (nodes: a count or a list) fails as a whole; when the input has the
 * shape of one branch (a list), that branch's own problem is the one to name,
 * with the union's path in front of it.
 */
function innermost(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union') return issue;
  const branch = issue.errors.find((errs) => errs.length > 0 && !(errs[0]!.code === 'invalid_type' && errs[0]!.path.length === 0));
  if (!branch) return issue;
  const inner = branch[0]!;
  return innermost({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue);
}

function fieldOf(p: PropertyKey[]): string {
  return p.reduce<string>((f, k) => (typeof k === 'number' ? `${f}[${k}]` : f ? `${f}.${String(k)}` : String(k)), '');
}

function got(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return `${typeof value} ${JSON.stringify(value)}`;
}

// Every number of the project's files is an integer (zod reports an int's expected type as number).
const TYPE_NAMES: Record<string, string> = { number: 'an integer', int: 'an integer', string: 'a non-empty string', boolean: 'true or false', object: 'a mapping', array: 'a list' };

function describeIssue(issue: z.core.$ZodIssue): string {
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${got(input)}`;
    case 'too_small':
      return issue.origin === 'array' ? `must list at least ${issue.minimum}` : issue.origin === 'string' ? 'must not be empty' : `must be at least ${issue.minimum}, got ${got(input)}`;
    case 'too_big':
      return issue.origin === 'array' ? `at most ${issue.maximum}, got ${Array.isArray(input) ? input.length : got(input)}` : `must be at most ${issue.maximum}, got ${got(input)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}, got ${got(input)}`;
    case 'invalid_format':
      return `${JSON.stringify(input)} does not match ${(issue as { pattern?: string }).pattern ?? issue.format}`;
    default:
      return `${issue.message}, got ${got(input)}`;
  }
}
