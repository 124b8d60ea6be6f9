import { defineConfig } from 'vitest/config';
import { sharedTestOptions } from '../vitest.shared.js';

// The cross-language suite: needs Debian's python3-grpcio and protoc, so the default config
// (vitest.config.ts) leaves it out and CI runs it on its own with `pnpm test:interop`.
export default defineConfig({
  test: {
    include: ['src/interop/**/*.test.ts'],
    ...sharedTestOptions,
    // Setup generates stubs, starts a server and runs the whole Python client.
    hookTimeout: 300_000,
  },
});
