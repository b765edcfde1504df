import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';

export interface LabKey {
  privateKeyPath: string;
  privateKey: string;
  publicKey: string;
}

/** One ed25519 key per cache: baked into every image, used for every node. */
export function labKey(cacheDir: string): LabKey {
  const dir = path.join(cacheDir, 'ssh');
  const priv = path.join(dir, 'id_ed25519');
  const pub = `${priv}.pub`;
  if (!existsSync(priv) || !existsSync(pub)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'm3lab' });
    writeFileSync(priv, pair.private, { mode: 0o600 });
    writeFileSync(pub, `${pair.public}\n`);
    chmodSync(priv, 0o600);
  }
  return {
    privateKeyPath: priv,
    privateKey: readFileSync(priv, 'utf8'),
    publicKey: readFileSync(pub, 'utf8').trim(),
  };
}
