import { stat } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { defaultPolicy, type PolicyConfig } from '@modelserve/autoscale';
import { pino } from 'pino';
import { startClusterService } from '../cluster/service.js';
import { Supervisor } from '../cluster/supervisor.js';
import { portInUseMessage } from '../port-owner.js';
import { policyFromFlags } from './policy-flags.js';
import { bundledRepository } from './serve.js';

/** Options of `modelserve cluster`. */
export interface ClusterOptions {
  min: number;
  max: number;
  modelRepository?: string;
  host: string;
  port: number;
  target: number;
  stableWindowMs: number;
  panicWindowMs: number;
  scaleUpDelayMs: number;
  scaleDownDelayMs: number;
  maxStepUp: number;
  maxStepDown: number;
  tickMs: number;
  drainGraceMs: number;
  deregisterDelayMs: number;
  startTimeoutMs: number;
  logLevel: string;
}

/** The policy's defaults, which the flags show. */
export const clusterDefaults = defaultPolicy;

/** A number flag; its range is checked with the policy (checkPolicyConfig). */
export function clusterNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got ${JSON.stringify(value)}`);
  return n;
}

/** The policy the flags ask for, or an error naming the flag, what it expects and what it got. */
export function clusterPolicy(options: ClusterOptions): PolicyConfig {
  return policyFromFlags(options);
}

/** serve flags the supervisor sets on every replica itself. */
const reservedServeFlags = ['--host', '-p', '--port', '--metrics-port', '--metrics-host', '-r', '--model-repository', '--drain-grace-ms', '--log-level', '--tls-cert', '--tls-key', '--tls-client-ca'];

/** The arguments after `--`, refused if they set what the supervisor sets. */
export function checkServeArgs(args: readonly string[]): string[] {
  for (const arg of args) {
    const flag = arg.startsWith('--') ? arg.split('=')[0]! : arg.slice(0, 2);
    if (reservedServeFlags.includes(flag)) {
      throw new Error(
        `arguments after --: expected serve flags other than those the supervisor sets on every replica (loopback ports, its repository, --drain-grace-ms, info logs; no TLS: it checks replicas in plaintext), got ${JSON.stringify(arg)}`,
      );
    }
  }
  return [...args];
}

/** Supervises `modelserve serve` replicas on loopback ports until SIGINT or SIGTERM; see cluster/supervisor.ts. */
export async function cluster(serveArgs: string[], options: ClusterOptions): Promise<void> {
  const policy = clusterPolicy(options);
  const extraArgs = checkServeArgs(serveArgs);
  const repository = path.resolve(options.modelRepository ?? bundledRepository);
  const found = await stat(repository).catch((error: NodeJS.ErrnoException) => error);
  if (found instanceof Error || !found.isDirectory()) {
    throw new Error(`--model-repository: expected a directory, got ${JSON.stringify(options.modelRepository)}${found instanceof Error ? `: ${found.code === 'ENOENT' ? 'no such file or directory' : found.message}` : ', a file'}`);
  }
  const logger = pino({ level: options.logLevel, base: { service: 'modelserve-cluster' } }, pino.destination({ dest: 1, sync: true }));
  const supervisor = new Supervisor({
    policy,
    tickMs: options.tickMs,
    deregisterDelayMs: options.deregisterDelayMs,
    repository,
    drainGraceMs: options.drainGraceMs,
    extraArgs,
    startTimeoutMs: options.startTimeoutMs,
    logger,
  });
  const bounds = { min: policy.minReplicas, max: policy.maxReplicas, target: policy.targetPerReplica };
  let service: Awaited<ReturnType<typeof startClusterService>>;
  try {
    service = await startClusterService(supervisor, options.host, options.port, bounds);
  } catch (error) {
    const message = (error as Error).message;
    if (/EADDRINUSE|address already in use/i.test(message)) throw new Error(await portInUseMessage(options.host, options.port), { cause: error });
    throw new Error(`cannot listen on ${options.host}:${options.port}: ${message}`, { cause: error });
  }
  // Replicas the supervisor did not get to drain (it failed) are not left behind.
  process.once('exit', () => supervisor.killAll());
  logger.info({ address: service.address, repository, policy, tickMs: options.tickMs, deregisterDelayMs: options.deregisterDelayMs, extraArgs }, 'cluster listening');
  supervisor.start();

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: killing every replica');
      supervisor.killAll();
      process.exitCode = 1;
      return;
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    service.setNotServing();
    supervisor
      .stop()
      .then(() => service.close())
      .then(
        () => {
          logger.info({}, 'cluster stopped');
          process.exit();
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
