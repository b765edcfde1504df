import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../paths.ts';
import { labFileJsonSchema } from './lab-schema.ts';

/** `npm run lab-schema`: writes labs/lab.schema.json from lab-schema.ts (a unit test fails when they differ). */
const out = path.join(repoRoot, 'labs', 'lab.schema.json');
writeFileSync(out, `${JSON.stringify(labFileJsonSchema(), null, 2)}\n`);
process.stdout.write(`${out}\n`);
