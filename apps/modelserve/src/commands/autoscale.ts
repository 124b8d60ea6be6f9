import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { checkCurve, checkProfile, defaultPolicy, defaultSimulation, simulate, simulationLines, simulationSvg } from '@modelserve/autoscale';
import { policyFromFlags, type PolicyFlagValues } from './policy-flags.js';

/** The built-in curves and the measured profile (`pnpm bench --autoscale-profile` writes the last two). */
export const curvesDirectory = fileURLToPath(new URL('../../curves', import.meta.url));
export const builtInCurves = ['ramp', 'spike', 'diurnal', 'recorded'] as const;
export const defaultProfile = path.join(curvesDirectory, 'profile.json');

/** Options of `modelserve autoscale simulate`: the policy's flags and the simulation's. */
export type SimulateOptions = PolicyFlagValues & {
  curve: string;
  profile: string;
  sloMs: number;
  seed: number;
  tickMs: number;
  windowMs: number;
  coldStartMs?: number;
  initial?: number;
  svg?: string;
  json?: boolean;
};

/** A number above `min` (or from it, with `inclusive`), for the options that take fractions. */
export function decimal(min: number, inclusive = false) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || (inclusive ? n < min : n <= min)) throw new InvalidArgumentError(`expected a number ${inclusive ? 'of' : 'above'} ${min}${inclusive ? ' or more' : ''}, got ${JSON.stringify(value)}`);
    return n;
  };
}

async function readJson(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && what === '--curve') throw new Error(`--curve: expected a built-in curve (${builtInCurves.join(', ')}) or a JSON file, got ${JSON.stringify(file)}: no such file`);
    if (code === 'ENOENT') throw new Error(`${what}: no such file: ${file}`);
    throw new Error(`${what}: cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${what}: ${file} is not JSON: ${(error as Error).message}`);
  }
}


/**
 * Runs the policy against a load curve in virtual time (see packages/autoscale/src/simulate.ts)
 * and prints the figures, the scaling events and the series, or the whole result as JSON; `--svg`
 * draws load, replicas and p99 over time.
 */
export async function simulateCommand(options: SimulateOptions): Promise<void> {
  const policy = policyFromFlags(options);
  const curveFile = (builtInCurves as readonly string[]).includes(options.curve) ? path.join(curvesDirectory, `${options.curve}.json`) : options.curve;
  const curve = checkCurve(await readJson(curveFile, '--curve'), curveFile);
  const profile = checkProfile(await readJson(options.profile, '--profile'), options.profile);
  if (options.initial !== undefined && (options.initial < policy.minReplicas || options.initial > policy.maxReplicas)) {
    throw new Error(`--initial: expected a count from --min (${policy.minReplicas}) to --max (${policy.maxReplicas}), got ${options.initial}`);
  }
  const result = simulate(curve, profile, {
    policy,
    sloMs: options.sloMs,
    seed: options.seed,
    tickMs: options.tickMs,
    windowMs: options.windowMs,
    ...(options.initial === undefined ? {} : { initialReplicas: options.initial }),
    ...(options.coldStartMs === undefined ? {} : { coldStartMs: options.coldStartMs }),
  });
  if (options.svg !== undefined) await writeFile(options.svg, simulationSvg(result));
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const lines = simulationLines(result);
  if (options.svg !== undefined) lines.push('', `Wrote ${options.svg}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** The defaults the CLI shows and uses. */
export const simulateDefaults = { ...defaultSimulation, policy: defaultPolicy };
