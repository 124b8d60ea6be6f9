/**
 * Load-balancing policies: each picks one endpoint per call from those that may take calls
 * (serving, reachable, not ejected). They run in the SDK, over one grpc-js channel per endpoint,
 * so every pick sees live per-endpoint state (calls in flight, latency) at the cost of a function
 * call; see README "Client SDK" for why not grpc-js load-balancer plugins.
 */

/** What a policy may read of an endpoint. */
export interface EndpointView {
  readonly address: string;
  /** Static weight from discovery (default 1). */
  readonly weight: number;
  /** Calls sent and not yet answered. */
  readonly inflight: number;
  /** Peak-sensitive moving average of call latency in milliseconds; 0 before the first answer. */
  readonly latencyMs: number;
}

/** A policy: picks one of `endpoints` (never empty) for the next call. */
export interface Picker {
  pick(endpoints: readonly EndpointView[]): EndpointView;
}

/** The built-in policies by name. */
export type PolicyName = 'round_robin' | 'weighted_round_robin' | 'least_request' | 'peak_ewma' | 'random';

/** Takes turns. */
export class RoundRobin implements Picker {
  private next = 0;
  pick(endpoints: readonly EndpointView[]): EndpointView {
    const chosen = endpoints[this.next % endpoints.length]!;
    this.next = (this.next + 1) % 1_000_000_007;
    return chosen;
  }
}

/**
 * Smooth weighted round robin, as nginx does it: every pick adds each endpoint's weight to its
 * current score, takes the highest, and subtracts the total from the winner. Weights 3:1:1 give
 * A B A C A, not A A A B C.
 */
export class WeightedRoundRobin implements Picker {
  private readonly current = new Map<string, number>();
  pick(endpoints: readonly EndpointView[]): EndpointView {
    let total = 0;
    let best: EndpointView | undefined;
    let bestScore = -Infinity;
    for (const e of endpoints) {
      const weight = Math.max(0, e.weight);
      total += weight;
      const score = (this.current.get(e.address) ?? 0) + weight;
      this.current.set(e.address, score);
      if (score > bestScore) {
        bestScore = score;
        best = e;
      }
    }
    this.current.set(best!.address, bestScore - total);
    if (this.current.size > endpoints.length * 2) this.forgetGone(endpoints);
    return best!;
  }

  private forgetGone(endpoints: readonly EndpointView[]): void {
    const live = new Set(endpoints.map((e) => e.address));
    for (const address of this.current.keys()) if (!live.has(address)) this.current.delete(address);
  }
}

/** Two distinct endpoints at random (or the only one). */
function twoChoices(endpoints: readonly EndpointView[], random: () => number): [EndpointView, EndpointView] {
  const n = endpoints.length;
  const i = Math.floor(random() * n);
  if (n === 1) return [endpoints[0]!, endpoints[0]!];
  const j = (i + 1 + Math.floor(random() * (n - 1))) % n;
  return [endpoints[i]!, endpoints[j]!];
}

/** Power of two choices over calls in flight, as Envoy's least_request does. */
export class LeastRequest implements Picker {
  constructor(private readonly random: () => number = Math.random) {}
  pick(endpoints: readonly EndpointView[]): EndpointView {
    const [a, b] = twoChoices(endpoints, this.random);
    return b.inflight < a.inflight ? b : a;
  }
}

/**
 * Least response time, as Finagle's and Linkerd's peak EWMA balancers: power of two choices over
 * cost = latency moving average × (calls in flight + 1). The average jumps up to any slower
 * answer at once (peak-sensitive) and decays towards faster ones, so a replica that slows down is
 * avoided immediately and tried again gradually. As in Finagle, an endpoint with no answer yet
 * costs nothing while it has no call in flight (so new replicas are probed) and a penalty while
 * it has (so calls do not pile onto one that has not answered).
 */
export class PeakEwma implements Picker {
  constructor(private readonly random: () => number = Math.random) {}
  pick(endpoints: readonly EndpointView[]): EndpointView {
    const [a, b] = twoChoices(endpoints, this.random);
    return peakEwmaCost(b) < peakEwmaCost(a) ? b : a;
  }
}

/** Cost of a call on `e` for PeakEwma. */
function peakEwmaCost(e: EndpointView): number {
  if (e.latencyMs === 0) return e.inflight === 0 ? 0 : 1e9 + e.inflight;
  return e.latencyMs * (e.inflight + 1);
}

/** Uniformly at random. */
export class RandomPick implements Picker {
  constructor(private readonly random: () => number = Math.random) {}
  pick(endpoints: readonly EndpointView[]): EndpointView {
    return endpoints[Math.floor(this.random() * endpoints.length)]!;
  }
}

const builtIn: Record<PolicyName, () => Picker> = {
  round_robin: () => new RoundRobin(),
  weighted_round_robin: () => new WeightedRoundRobin(),
  least_request: () => new LeastRequest(),
  peak_ewma: () => new PeakEwma(),
  random: () => new RandomPick(),
};

/** A picker for a policy name, or the caller's own picker. */
export function createPicker(policy: PolicyName | Picker): Picker {
  if (typeof policy !== 'string') return policy;
  const make = builtIn[policy];
  if (make === undefined) throw new TypeError(`unknown load-balancing policy '${String(policy)}': expected one of ${Object.keys(builtIn).join(', ')}, or a Picker`);
  return make();
}

/**
 * A peak-sensitive exponentially weighted moving average of latency (Finagle's PeakEwma): a sample
 * above the average replaces it; one below pulls it down with weight 1 - exp(-elapsed / decay).
 */
export class PeakEwmaLatency {
  private value = 0;
  private last = 0;

  constructor(private readonly decayMs = 10_000) {}

  get ms(): number {
    return this.value;
  }

  observe(latencyMs: number, now = performance.now()): void {
    if (this.value === 0 || latencyMs > this.value) {
      this.value = latencyMs;
    } else {
      const w = Math.exp(-Math.max(0, now - this.last) / this.decayMs);
      this.value = this.value * w + latencyMs * (1 - w);
    }
    this.last = now;
  }
}
