/**
 * Waiting for a condition instead of sleeping: tests wait on what the system does (a counter, a
 * state), so a busy machine makes them slower, not wrong. The time limit only ends a test that
 * would otherwise hang; it is not what the test asserts.
 */

/** Resolves once `check` holds, polling every 10 ms; rejects after `timeoutMs`, naming `what`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
