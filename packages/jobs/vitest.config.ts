import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { sharedTestOptions } from '../../vitest.shared.js';

export default defineConfig({
  resolve: {
    // Core and the model generators from source, so these tests need no build of either.
    alias: { '@modelserve/model-zoo': fileURLToPath(new URL('../model-zoo/src/index.ts', import.meta.url)) },
  },
  test: sharedTestOptions,
});
