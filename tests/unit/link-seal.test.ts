import { describe, expect, it } from 'vitest';
import { formatSeal, parseLinkSeal, sealFigures } from '../../harness/bench/link-seal.ts';
import { roundOrder } from '../../harness/bench/fuzz-coverage.ts';

const read = (hmac: number, chacha: number) => `candidate driver bytes ns_per_frame
hmac(sha512) hmac(sha512-generic) 64 ${hmac}
hmac(sha512) hmac(sha512-generic) 4096 ${hmac * 10}
rfc7539(chacha20,poly1305) rfc7539(chacha20-simd,poly1305-simd) 64 ${chacha}
rfc7539(chacha20,poly1305) rfc7539(chacha20-simd,poly1305-simd) 4096 ${chacha * 10}
gcm(aes) - 64 unavailable(-2)
gcm(aes) - 4096 unavailable(-2)
`;

describe('bench seal: /proc/m3ipc/link_seal', () => {
  it('reads rows, and says which candidates the kernel lacks', () => {
    const rows = parseLinkSeal(read(1000, 500));
    expect(rows).toHaveLength(6);
    expect(rows[0]).toEqual({ candidate: 'hmac(sha512)', driver: 'hmac(sha512-generic)', bytes: 64, ns: 1000 });
    expect(rows[4]).toEqual({ candidate: 'gcm(aes)', driver: '-', bytes: 64, unavailable: 'errno -2' });
  });

  it('refuses a heading or a row it does not know', () => {
    expect(() => parseLinkSeal('what\n')).toThrow(/unexpected heading/);
    expect(() => parseLinkSeal('candidate driver bytes ns_per_frame\nhmac(sha512) x 64\n')).toThrow(/bad row/);
    expect(() => parseLinkSeal('candidate driver bytes ns_per_frame\nhmac(sha512) x 64 fast\n')).toThrow(/bad row/);
  });

  it('each candidate against the links HMAC at the same size, over the rounds', () => {
    const figs = sealFigures([parseLinkSeal(read(1000, 500)), parseLinkSeal(read(1100, 600)), parseLinkSeal(read(900, 400))]);
    const chacha64 = figs.find((f) => f.candidate.startsWith('rfc7539') && f.bytes === 64)!;
    expect(chacha64.summary!.median).toBe(500);
    expect(chacha64.ratio!.value).toBeCloseTo(0.5);
    const hmac4k = figs.find((f) => f.candidate === 'hmac(sha512)' && f.bytes === 4096)!;
    expect(hmac4k.ratio!.value).toBe(1);
    const gcm = figs.find((f) => f.candidate === 'gcm(aes)')!;
    expect(gcm.summary).toBeUndefined();
    expect(gcm.unavailable).toBe('errno -2');
    expect(formatSeal(figs, 3, 'TCG')).toMatch(/gcm\(aes\).*unavailable \(errno -2\)/);
  });
});

describe('bench fuzz: the order of the arms', () => {
  it('two arms alternate ABBA', () => {
    expect([0, 1, 2, 3].map((i) => roundOrder(['a', 'b'], i).join(''))).toEqual(['ab', 'ba', 'ba', 'ab']);
  });

  it('every arm takes every place over the rounds', () => {
    const places = new Map<string, Set<number>>();
    for (let i = 0; i < 6; i++) roundOrder(['a', 'b', 'c'], i).forEach((m, k) => (places.get(m) ?? places.set(m, new Set()).get(m)!).add(k));
    for (const m of ['a', 'b', 'c']) expect(places.get(m)!.size).toBe(3);
  });
});
