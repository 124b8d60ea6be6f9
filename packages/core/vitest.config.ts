import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // The model generators from source, so core's tests need no build of model-zoo either.
    alias: { '@modelserve/model-zoo': fileURLToPath(new URL('../model-zoo/src/index.ts', import.meta.url)) },
  },
  test: {
    // Tests that start onnxruntime workers took up to 8 s under a CPU hog on 2 cores (vitest's
    // default allows 5 s); no assertion depends on time, so a slow machine may take longer.
    testTimeout: 30_000,
  },
});
