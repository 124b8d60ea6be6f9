// Copies the repository's proto/ into dist/proto, so that the packed package carries the .proto
// files it loads at run time (src/load.ts looks there first). Plain .mjs, run after tsc.
import { cpSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const target = join(packageDir, 'dist', 'proto');
// Emptied first: a .proto removed from proto/ must not linger in the package.
rmSync(target, { recursive: true, force: true });
cpSync(join(packageDir, '..', '..', 'proto'), target, { recursive: true, filter: (src) => statSync(src).isDirectory() || src.endsWith('.proto') });
