// Regenerates the committed demo model repository: `pnpm run gen:demo` in this package.
import { resolve } from 'node:path';
import { writeDemoRepository } from '../demo-repository.js';

const target = resolve(process.argv[2] ?? 'models');
await writeDemoRepository(target);
console.log(`wrote demo model repository to ${target}`);
