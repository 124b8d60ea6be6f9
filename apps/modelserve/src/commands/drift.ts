import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError } from 'commander';
import type { GetDriftResponse__Output, VersionDrift__Output } from '@modelserve/proto';
import { call, connect } from '../client.js';

/** Options of `modelserve drift`. */
export interface DriftOptions {
  address: string;
  modelVersion?: string;
  /** A version whose current traffic the version's is compared with, instead of the reference. */
  against?: string;
  json?: boolean;
  /** Seconds between refreshes (`true`: `--watch` without seconds, 5); undefined: report once. */
  watch?: number | true;
}

/** `--watch`'s seconds when none are given. */
const defaultWatchSeconds = 5;

/** `--watch`'s seconds: a number from 0.1 to a day. */
export function watchSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0.1 || n > 86_400) throw new InvalidArgumentError(`expected seconds from 0.1 to 86400, got ${JSON.stringify(value)}`);
  return n;
}

/** One feature's distance from the reference, as `--json` prints it. */
interface FeatureJson {
  name: string;
  psi: number;
  js_distance: number;
  ks: number;
  level: string;
}

/** One version's drift as `--json` prints it: GetDriftResponse's fields, 64-bit counts as numbers. */
export interface VersionDriftJson {
  name: string;
  version: string;
  state: string;
  level: string;
  reference_source: string;
  reference_samples: number;
  window_samples: number;
  window_start_ms: number;
  window_end_ms: number;
  against_version: string;
  tensors: Array<{ name: string; kind: string; max_psi: number; level: string; features: FeatureJson[] }>;
}

/** A version's drift with stable key names, whatever fields the wire message gains. */
export function driftJson(v: VersionDrift__Output): VersionDriftJson {
  return {
    name: v.name,
    version: v.version,
    state: v.state,
    level: v.level,
    reference_source: v.reference_source,
    reference_samples: Number(v.reference_samples),
    window_samples: Number(v.window_samples),
    window_start_ms: Number(v.window_start_ms),
    window_end_ms: Number(v.window_end_ms),
    against_version: v.against_version,
    tensors: v.tensors.map((t) => ({
      name: t.name,
      kind: t.kind,
      max_psi: t.max_psi,
      level: t.level,
      features: t.features.map((f) => ({ name: f.name, psi: f.psi, js_distance: f.js_distance, ks: f.ks, level: f.level })),
    })),
  };
}

/** Rows as columns two spaces apart, each as wide as its widest cell. */
function table(rows: string[][], indent = ''): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((row) => indent + row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
}

const fixed = (x: number): string => x.toFixed(3);

/**
 * The versions as a table (MODEL VERSION STATE LEVEL SAMPLES REFERENCE; SAMPLES those of the last
 * closed window), then for each version with a window, its tensors' most drifted features.
 */
export function describeDrift(versions: readonly VersionDriftJson[]): string {
  if (versions.length === 0) return 'no model version is watched for drift (add a drift: block to a config.yaml)';
  const reference = (v: VersionDriftJson): string => (v.reference_samples > 0 ? `${v.reference_source} (${v.reference_samples} samples)` : v.reference_source);
  const lines = table([
    ['MODEL', 'VERSION', 'STATE', 'LEVEL', 'SAMPLES', 'REFERENCE'],
    ...versions.map((v) => [v.name, v.version, v.state, v.level || '-', String(v.window_samples), reference(v)]),
  ]);
  for (const v of versions) {
    if (v.tensors.length === 0) continue;
    lines.push('', `${v.name} ${v.version}${v.against_version === '' ? '' : ` against ${v.against_version}`}:`);
    const rows = [['TENSOR', 'FEATURE', 'PSI', 'JS', 'KS', 'LEVEL']];
    for (const t of v.tensors) for (const f of t.features) rows.push([t.name, f.name, fixed(f.psi), fixed(f.js_distance), fixed(f.ks), f.level]);
    lines.push(...table(rows, '  '));
  }
  return lines.join('\n');
}

/**
 * Prints the drift of every watched version, of one model or one version (against the reference,
 * or with `--against` against another version's traffic); `--watch` refreshes it until SIGINT and
 * ends non-zero on the first failed call.
 */
export async function drift(model: string | undefined, options: DriftOptions): Promise<void> {
  if (options.modelVersion !== undefined && model === undefined) throw new Error('--model-version needs a model');
  if (options.against !== undefined && (model === undefined || options.modelVersion === undefined)) {
    throw new Error('--against needs a model and --model-version: the version whose traffic is compared with that of --against');
  }
  const request = { name: model ?? '', version: options.modelVersion ?? '', against_version: options.against ?? '' };
  const client = connect(options.address);
  const report = async (): Promise<VersionDriftJson[]> => (await call<GetDriftResponse__Output>((cb) => client.admin.GetDrift(request, cb))).versions.map(driftJson);
  try {
    if (options.watch === undefined) {
      const versions = await report();
      console.log(options.json === true ? JSON.stringify({ versions }, null, 2) : describeDrift(versions));
      return;
    }
    const seconds = options.watch === true ? defaultWatchSeconds : options.watch;
    const stop = new AbortController();
    const onSigint = (): void => stop.abort();
    process.once('SIGINT', onSigint);
    try {
      for (let first = true; !stop.signal.aborted; first = false) {
        const versions = await report();
        if (options.json === true) {
          // One line per refresh, so a reader of the pipe can take each as it comes.
          console.log(JSON.stringify({ time: new Date().toISOString(), versions }));
        } else {
          const heading = `every ${seconds} s, ${new Date().toISOString()}; Ctrl-C to stop`;
          // Clearing the screen only on a terminal: in a pipe or a file the escape codes are noise.
          const prefix = process.stdout.isTTY ? '\x1b[H\x1b[2J' : first ? '' : '\n';
          process.stdout.write(`${prefix}${heading}\n\n${describeDrift(versions)}\n`);
        }
        await sleep(seconds * 1000, undefined, { signal: stop.signal }).catch(() => undefined);
      }
    } finally {
      process.off('SIGINT', onSigint);
    }
  } finally {
    client.close();
  }
}
