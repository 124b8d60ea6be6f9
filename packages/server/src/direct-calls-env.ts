/** The `MODELSERVE_DIRECT_CALLS` switch: the default of `ServerOptions.directCalls`. */

/** The environment variable that turns the fast path off (`0`, `false`) or on (`1`, `true`, unset). */
export const directCallsVariable = 'MODELSERVE_DIRECT_CALLS';

/** Whether `env` asks for the fast path; throws, naming what it expects, for any other value. */
export function directCallsFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env[directCallsVariable];
  if (value === undefined || value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  throw new Error(`${directCallsVariable} must be 0 or false (off), or 1 or true (on, the default); got ${JSON.stringify(value)}`);
}
