import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // The model generators from source, so core's tests need no build of model-zoo either.
    alias: { '@modelserve/model-zoo': fileURLToPath(new URL('../model-zoo/src/index.ts', import.meta.url)) },
  },
});
