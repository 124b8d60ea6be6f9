/** @modelserve/cli: the `modelserve` command's pieces, for tests and embedding. */
export { bundledRepository, serve } from './commands/serve.js';
export type { ServeOptions } from './commands/serve.js';
