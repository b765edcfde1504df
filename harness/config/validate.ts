import { ConfigError } from '../errors.ts';

/** Small field-naming validators shared by the recipe and lab-file loaders. */
export type Obj = Record<string, unknown>;

export function object(value: unknown, field: string, allowed: readonly string[]): Obj {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(field, `must be a mapping, got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new ConfigError(join(field, key), `unknown field (allowed: ${allowed.join(', ')})`);
    }
  }
  return value as Obj;
}

export function integer(
  value: unknown,
  field: string,
  range: { min?: number; max?: number } = {},
): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ConfigError(field, `must be an integer, got ${describe(value)}`);
  }
  if (range.min !== undefined && value < range.min) {
    throw new ConfigError(field, `must be at least ${range.min}, got ${value}`);
  }
  if (range.max !== undefined && value > range.max) {
    throw new ConfigError(field, `must be at most ${range.max}, got ${value}`);
  }
  return value;
}

export function string(value: unknown, field: string, pattern?: RegExp): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ConfigError(field, `must be a non-empty string, got ${describe(value)}`);
  }
  if (pattern && !pattern.test(value)) {
    throw new ConfigError(field, `${JSON.stringify(value)} does not match ${pattern}`);
  }
  return value;
}

export function boolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new ConfigError(field, `must be true or false, got ${describe(value)}`);
  return value;
}

export function oneOf<T extends string>(value: unknown, field: string, choices: readonly T[]): T {
  if (typeof value !== 'string' || !choices.includes(value as T)) {
    throw new ConfigError(field, `must be one of ${choices.join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

export function list(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw new ConfigError(field, `must be a list, got ${describe(value)}`);
  return value;
}

export function join(field: string, key: string | number): string {
  if (typeof key === 'number') return `${field}[${key}]`;
  return field ? `${field}.${key}` : key;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return `${typeof value} ${JSON.stringify(value)}`;
}
