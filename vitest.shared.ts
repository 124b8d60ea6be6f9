/**
 * Test options every package shares. CI runs on a busy 2-core machine, where starting a process or
 * an onnxruntime worker took up to 8 s beside a CPU hog and more when several suites ran at once
 * (vitest's default allows 5 s per test). No assertion depends on time, so a slow machine may take
 * longer; a test that hangs still fails.
 */
export const sharedTestOptions = {
  testTimeout: 30_000,
  hookTimeout: 60_000,
};
