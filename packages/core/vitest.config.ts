import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { sharedTestOptions } from '../../vitest.shared.js';

export default defineConfig({
  resolve: {
    // The model generators from source, so core's tests need no build of model-zoo either.
    alias: { '@modelserve/model-zoo': fileURLToPath(new URL('../model-zoo/src/index.ts', import.meta.url)) },
  },
  test: sharedTestOptions,
});
