import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../harness/errors.ts';
import { dataPathFromEnv } from '../../harness/m3/cluster.ts';

describe('M3LAB_DATA_PATH: who carries remote frames in the suites\' clusters', () => {
  it('is the kernel path when unset, and either path when named', () => {
    expect(dataPathFromEnv({})).toBe('kernel');
    expect(dataPathFromEnv({ M3LAB_DATA_PATH: 'kernel' })).toBe('kernel');
    expect(dataPathFromEnv({ M3LAB_DATA_PATH: 'user' })).toBe('user');
  });
  it('refuses anything else, naming the variable and the value', () => {
    for (const v of ['', 'User', 'proxies']) {
      expect(() => dataPathFromEnv({ M3LAB_DATA_PATH: v })).toThrow(ConfigError);
      expect(() => dataPathFromEnv({ M3LAB_DATA_PATH: v })).toThrow(new RegExp(`M3LAB_DATA_PATH must be kernel or user, not ${JSON.stringify(v)}`));
    }
  });
});
