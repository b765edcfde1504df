import { expect } from 'vitest';
import { ConfigError } from '../../../harness/errors.ts';

/** The field a ConfigError names; fails the test when fn throws anything else or nothing. */
export function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).field;
  }
  throw new Error('expected a ConfigError');
}
