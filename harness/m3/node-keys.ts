import { generateKeyPairSync } from 'node:crypto';

/**
 * A node's long-term identity for its proxies' links (kmod/proxy/identity.h):
 * an X25519 key pair, as libsodium's crypto_kx_keypair makes one (the secret
 * key is the raw 32-byte scalar, clamped by X25519 itself; the public key is
 * its base-point multiple). Node's own crypto makes it: no new dependency,
 * no hand-written crypto.
 */
export interface NodeKey {
  secret: Buffer;
  public: Buffer;
}

export function generateNodeKey(): NodeKey {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const d = privateKey.export({ format: 'jwk' }).d;
  const x = publicKey.export({ format: 'jwk' }).x;
  if (!d || !x) throw new Error('x25519 key export gave no raw key');
  const key = { secret: Buffer.from(d, 'base64url'), public: Buffer.from(x, 'base64url') };
  if (key.secret.length !== 32 || key.public.length !== 32) throw new Error('x25519 keys are not 32 bytes');
  return key;
}

/** The cluster file every proxy reads: one `<node id> <hex public key>` line per node, by id. */
export function clusterPubFile(keys: ReadonlyMap<number, NodeKey>): string {
  const ids = [...keys.keys()].sort((a, b) => a - b);
  for (const id of ids) if (!Number.isInteger(id) || id < 0 || id > 63) throw new Error(`node id ${id} is not 0..63`);
  return ['# M3-IPC cluster: node id, public key (m3proxy --cluster)', ...ids.map((id) => `${id} ${keys.get(id)!.public.toString('hex')}`), ''].join('\n');
}
