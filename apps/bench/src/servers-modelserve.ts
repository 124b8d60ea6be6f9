/** Starts the real `modelserve serve` CLI (configurations d and e) and checks its models loaded. */
import type { AdminClient } from './admin.js';
import { forkChild, stderrTail, stopChild, waitForMessage } from './children.js';
import type { GuardMessage } from './modelserve-guard.js';
import { watchExit, type RunningServer } from './servers-baseline.js';

/** The built CLI of apps/modelserve (`@modelserve/cli` resolves to its dist/index.js). */
export function modelserveCliPath(): string {
  return new URL('./cli.js', import.meta.resolve('@modelserve/cli')).pathname;
}

/** How `startModelserve` starts the CLI. */
export interface StartOptions {
  /** Go to `modelserve serve` verbatim after the benchmark's own arguments, so they may override them. Default none. */
  extraArgs?: readonly string[];
  /**
   * Resolve once every model loaded (`listening`, the default), or as soon as the port is bound
   * while they load (`bound`), to watch the loading through the admin API.
   */
  until?: 'listening' | 'bound';
}

/** Serves `repository` with the CLI on a free 127.0.0.1 port; `onLog` gets its warnings and errors. */
export async function startModelserve(repository: string, onLog: (line: string) => void = () => undefined, options: StartOptions = {}): Promise<RunningServer> {
  const args = [modelserveCliPath(), 'serve', '--model-repository', repository, '--host', '127.0.0.1', '--port', '0', '--log-level', 'info', ...(options.extraArgs ?? [])];
  const accepted: ReadonlyArray<GuardMessage['type']> = options.until === 'bound' ? ['bound', 'listening'] : ['listening'];
  const guard = forkChild('./modelserve-guard.js', args);
  let exit = '';
  const lastLines: string[] = [];
  guard.on('message', (m: GuardMessage) => {
    if (m.type === 'log') {
      // "shutting down" is only news when the benchmark did not ask for it (then exitReason says so).
      if (!m.line.includes('"msg":"shutting down"')) onLog(m.line);
      lastLines.push(m.line);
      lastLines.splice(0, lastLines.length - 5);
    } else if (m.type === 'exited') exit = m.signal ?? `code ${m.code}`;
  });
  const describe = (): string => {
    const tail = stderrTail(guard);
    return `modelserve exited (${exit || 'unknown'}) during the run${lastLines.length > 0 ? `; last log lines: ${lastLines.join(' ')}` : ''}${tail === '' ? '' : `; stderr: ${tail}`}`;
  };
  try {
    const { address, pid } = await waitForMessage(guard, (message) => {
      const m = message as GuardMessage;
      if ((m.type === 'listening' || m.type === 'bound') && accepted.includes(m.type)) return m;
      if (m.type === 'exited') throw new Error(`modelserve exited (${m.signal ?? `code ${m.code}`}) before listening`);
      return undefined;
    });
    return { address, pid, ...watchExit(guard, describe) };
  } catch (error) {
    await stopChild(guard);
    throw error;
  }
}

/** For each of `models` that has no READY version: why (the state and the server's reason). */
export async function unreadyModels(admin: AdminClient, models: readonly string[], timeoutMs = 60_000): Promise<Map<string, string>> {
  let statuses = await admin.listModels();
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && statuses.some((s) => s.versions.some((v) => v.state === 'VERSION_STATE_LOADING'))) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    statuses = await admin.listModels();
  }
  const problems = new Map<string, string>();
  for (const name of models) {
    const status = statuses.find((s) => s.name === name);
    if (status === undefined) {
      problems.set(name, 'not in ListModels');
      continue;
    }
    if (status.versions.some((v) => v.state === 'VERSION_STATE_READY')) continue;
    const reasons = status.versions.map((v) => `version ${v.version} ${v.state.replace('VERSION_STATE_', '')}${v.reason === '' ? '' : `: ${v.reason}`}`);
    problems.set(name, reasons.join('; ') || 'no versions');
  }
  return problems;
}
