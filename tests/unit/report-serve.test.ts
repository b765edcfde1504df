import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './support/temp-dir.ts';
import { serveReport } from '../../harness/report/serve.ts';

describe('report server', () => {
  it('serves the report folder on 127.0.0.1 with content types, and nothing outside it', async () => {
    const dir = tempDir('m3lab-report-');
    writeFileSync(path.join(dir, 'index.html'), '<html>report</html>');
    mkdirSync(path.join(dir, 'data'));
    writeFileSync(path.join(dir, 'data', 'x.json'), '{"a":1}');
    const server = await serveReport(dir);
    try {
      const addr = server.address() as { address: string; port: number };
      expect(addr.address).toBe('127.0.0.1');
      const base = `http://127.0.0.1:${addr.port}`;
      const index = await fetch(`${base}/`);
      expect(index.headers.get('content-type')).toContain('text/html');
      expect(await index.text()).toBe('<html>report</html>');
      const data = await fetch(`${base}/data/x.json`);
      expect(await data.json()).toEqual({ a: 1 });
      expect((await fetch(`${base}/missing.js`)).status).toBe(404);
      expect((await fetch(`${base}/..%2F..%2Fetc%2Fpasswd`)).status).toBe(403);
    } finally {
      server.close();
    }
  });
});
