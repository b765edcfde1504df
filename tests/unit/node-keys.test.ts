import { createPrivateKey, createPublicKey, diffieHellman } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { clusterPubFile, generateNodeKey } from '../../harness/m3/node-keys.ts';

const priv = (k: Buffer, pub: Buffer) => createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: k.toString('base64url'), x: pub.toString('base64url') }, format: 'jwk' });
const pub = (k: Buffer) => createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: k.toString('base64url') }, format: 'jwk' });

describe('node keys', () => {
  it('are raw 32-byte X25519 pairs whose shared secrets agree (what crypto_kx computes from them)', () => {
    const a = generateNodeKey();
    const b = generateNodeKey();
    expect([a.secret.length, a.public.length]).toEqual([32, 32]);
    expect(a.public.equals(b.public)).toBe(false);
    const ab = diffieHellman({ privateKey: priv(a.secret, a.public), publicKey: pub(b.public) });
    const ba = diffieHellman({ privateKey: priv(b.secret, b.public), publicKey: pub(a.public) });
    expect(ab.equals(ba)).toBe(true);
    // A third key does not reach the same secret with b: what stops one node speaking as another.
    const c = generateNodeKey();
    const cb = diffieHellman({ privateKey: priv(c.secret, c.public), publicKey: pub(b.public) });
    expect(cb.equals(ab)).toBe(false);
  });

  it('the cluster file lists public keys by node id, and refuses an id the module cannot have', () => {
    const k1 = generateNodeKey();
    const k3 = generateNodeKey();
    const text = clusterPubFile(new Map([[3, k3], [1, k1]]));
    expect(text.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([`1 ${k1.public.toString('hex')}`, `3 ${k3.public.toString('hex')}`]);
    expect(text).not.toContain(k1.secret.toString('hex'));
    expect(() => clusterPubFile(new Map([[64, k1]]))).toThrow(/node id 64/);
  });
});
