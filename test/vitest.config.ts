import { defineConfig } from 'vitest/config';
import { sharedTestOptions } from '../vitest.shared.js';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    exclude: ['src/interop/**'],
    ...sharedTestOptions,
  },
});
