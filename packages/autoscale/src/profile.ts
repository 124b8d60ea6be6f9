/**
 * What one replica does, as the bench measured it (`pnpm bench --autoscale-profile` writes
 * `apps/modelserve/curves/profile.json`): its cold starts, and the closed-loop throughput and
 * latency of one model at several concurrencies.
 *
 * The simulation serves up to `slots` requests at once per replica (the concurrency at which the
 * replica reached its capacity) and queues the rest, FIFO. A request that starts with k requests in
 * service (itself included) takes a time drawn from the latency measured at concurrency k
 * (interpolated between the levels measured), so a closed loop of k in the simulation runs at the
 * throughput measured at k, and a lightly loaded replica answers as fast as it did at low concurrency.
 */

/** Latency of one measured level, in ms. */
export interface LatencyQuantiles {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** A closed loop of `concurrency` requests in flight on one replica: its throughput and latency (medians over rounds). */
export interface ConcurrencyLevel {
  concurrency: number;
  requestsPerSecond: number;
  latencyMs: LatencyQuantiles;
}

export interface ReplicaProfile {
  description: string;
  /** From spawn to the first inference answered, one per start measured. */
  coldStartMs: number[];
  /** Levels by ascending concurrency. */
  levels: ConcurrencyLevel[];
  /** Requests a replica serves at once: the lowest concurrency that reached its capacity. */
  slots: number;
  /** Requests per second one replica serves with `slots` in flight. */
  capacity: number;
  /** Anything else the bench recorded (phases of the cold start, machine, date). */
  [extra: string]: unknown;
}

const describe = (value: unknown): string => (value === undefined ? 'nothing' : JSON.stringify(value) ?? String(value));
const positive = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n > 0;

/** The profile in `value` (parsed JSON), or an error naming `where` and what is wrong. */
export function checkProfile(value: unknown, where = 'profile'): ReplicaProfile {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where}: expected a JSON object with "coldStartMs", "levels", "slots" and "capacity", got ${describe(value)}`);
  const v = value as Record<string, unknown>;
  const cold = v['coldStartMs'];
  if (!Array.isArray(cold) || cold.length === 0 || !cold.every((n) => typeof n === 'number' && Number.isFinite(n) && n >= 0)) throw new Error(`${where}: "coldStartMs": expected a non-empty array of milliseconds, got ${describe(cold)}`);
  const levels = v['levels'];
  if (!Array.isArray(levels) || levels.length === 0) throw new Error(`${where}: "levels": expected a non-empty array of { concurrency, requestsPerSecond, latencyMs }, got ${describe(levels)}`);
  let previous = 0;
  levels.forEach((level: unknown, i) => {
    const l = (level ?? {}) as Record<string, unknown>;
    if (!Number.isInteger(l['concurrency']) || (l['concurrency'] as number) <= previous) throw new Error(`${where}: "levels"[${i}].concurrency: expected an integer above ${previous} (ascending), got ${describe(l['concurrency'])}`);
    previous = l['concurrency'] as number;
    if (!positive(l['requestsPerSecond'])) throw new Error(`${where}: "levels"[${i}].requestsPerSecond: expected a number above 0, got ${describe(l['requestsPerSecond'])}`);
    const latency = (l['latencyMs'] ?? {}) as Record<string, unknown>;
    for (const key of ['mean', 'p50', 'p90', 'p99', 'p999', 'max']) {
      if (!positive(latency[key])) throw new Error(`${where}: "levels"[${i}].latencyMs.${key}: expected a number above 0, got ${describe(latency[key])}`);
    }
  });
  const slots = v['slots'];
  if (!Number.isInteger(slots) || (slots as number) < 1 || (slots as number) > 4096) throw new Error(`${where}: "slots": expected an integer from 1 to 4096, got ${describe(slots)}`);
  if (!positive(v['capacity'])) throw new Error(`${where}: "capacity": expected requests per second above 0, got ${describe(v['capacity'])}`);
  return { ...(v as ReplicaProfile), description: typeof v['description'] === 'string' ? v['description'] : '' };
}

/** Points of each service-time table: the inverse CDF at u = 0, 1/GRID, …, 1. */
const GRID = 1000;
const KNOTS = [0, 0.5, 0.9, 0.99, 0.999, 1];

/**
 * A level's inverse CDF, linear between its quantiles. The measurement has no minimum: the value at
 * u = 0 is the one that makes the distribution's mean the measured mean (within [0, p50]).
 */
function inverseCdf(latency: LatencyQuantiles): Float64Array {
  const values = [0, latency.p50, latency.p90, latency.p99, latency.p999, latency.max];
  for (let i = 2; i < values.length; i++) values[i] = Math.max(values[i]!, values[i - 1]!);
  let above = 0;
  for (let i = 1; i + 1 < KNOTS.length; i++) above += ((KNOTS[i + 1]! - KNOTS[i]!) * (values[i]! + values[i + 1]!)) / 2;
  // mean = 0.5 · (v0 + p50) / 2 + above
  values[0] = Math.min(latency.p50, Math.max(0, 4 * (latency.mean - above) - latency.p50));
  const table = new Float64Array(GRID + 1);
  let k = 0;
  for (let g = 0; g <= GRID; g++) {
    const u = g / GRID;
    while (k + 2 < KNOTS.length && u > KNOTS[k + 1]!) k++;
    const share = (u - KNOTS[k]!) / (KNOTS[k + 1]! - KNOTS[k]!);
    table[g] = values[k]! + share * (values[k + 1]! - values[k]!);
  }
  return table;
}

/** Service-time draws by requests in service, and cold-start draws, from a profile. */
export class ServiceModel {
  readonly slots: number;
  readonly capacity: number;
  /** tables[k]: the inverse CDF of a request that starts with k in service, k = 1..slots. */
  private readonly tables: Float64Array[] = [];
  private readonly coldStarts: number[];

  constructor(
    readonly profile: ReplicaProfile,
    coldStartMs?: number,
  ) {
    this.slots = profile.slots;
    this.capacity = profile.capacity;
    const levels = profile.levels;
    const measured = levels.map((l) => inverseCdf(l.latencyMs));
    this.tables.push(new Float64Array(0));
    for (let k = 1; k <= this.slots; k++) {
      const above = levels.findIndex((l) => l.concurrency >= k);
      if (above <= 0) {
        this.tables.push(measured[above === 0 ? 0 : levels.length - 1]!);
        continue;
      }
      const [a, b] = [levels[above - 1]!.concurrency, levels[above]!.concurrency];
      const share = (k - a) / (b - a);
      const [ta, tb] = [measured[above - 1]!, measured[above]!];
      this.tables.push(ta.map((v, g) => v + share * (tb[g]! - v)));
    }
    this.coldStarts = coldStartMs === undefined ? [...profile.coldStartMs].sort((a, b) => a - b) : [coldStartMs];
  }

  /** A service time (ms) for a request that starts with `inService` requests in service, itself included. */
  serviceMs(inService: number, random: () => number): number {
    const table = this.tables[Math.min(Math.max(1, inService), this.slots)]!;
    const x = random() * GRID;
    const g = Math.floor(x);
    return g >= GRID ? table[GRID]! : table[g]! + (x - g) * (table[g + 1]! - table[g]!);
  }

  /** Mean service time (ms) with `inService` requests in service. */
  meanServiceMs(inService: number): number {
    const table = this.tables[Math.min(Math.max(1, inService), this.slots)]!;
    let sum = 0;
    for (let g = 0; g < GRID; g++) sum += (table[g]! + table[g + 1]!) / 2;
    return sum / GRID;
  }

  /** Requests per second one replica serves with `concurrency` requests in service (`slots` at most). */
  throughput(concurrency: number): number {
    const k = Math.min(Math.max(1, Math.round(concurrency)), this.slots);
    return (k / this.meanServiceMs(k)) * 1000;
  }

  /** A cold start (ms), between the ones measured. */
  coldStartMs(random: () => number): number {
    const s = this.coldStarts;
    if (s.length === 1) return s[0]!;
    const x = random() * (s.length - 1);
    const i = Math.floor(x);
    return s[i]! + (x - i) * (s[Math.min(i + 1, s.length - 1)]! - s[i]!);
  }

  /** The longest cold start this model draws. */
  maxColdStartMs(): number {
    return this.coldStarts[this.coldStarts.length - 1]!;
  }
}
