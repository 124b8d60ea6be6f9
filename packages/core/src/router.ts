/**
 * Per-model traffic routing for requests that name no version: a default version, a weighted
 * split (A/B, canary), sticky assignment by a routing key, a shadow version that sees a copy of
 * every request, and a history of routings to roll back to. Only READY versions are ever chosen,
 * so versions loading or unloading never receive traffic.
 */
import { createHash } from 'node:crypto';
import { ModelServeError } from './errors.js';

/** One routing of a model. */
export interface Routing {
  /** The version requests naming none go to when no split applies; undefined: the highest ready version. */
  defaultVersion?: number | undefined;
  /** Weighted split between versions (weights need not sum to 100); empty: no split. */
  split: Array<{ version: number; weight: number }>;
  /** A version that gets a copy of every routed request; its answers are compared, never returned. */
  shadowVersion?: number | undefined;
}

/** The routing a model starts with when config.yaml sets nothing. */
export const emptyRouting: Routing = { split: [] };

/** Checks a routing names only versions the model has; `InvalidArgument` otherwise. */
export function checkRouting(model: string, routing: Routing, versions: readonly number[]): void {
  const known = (v: number | undefined, what: string): void => {
    if (v !== undefined && !versions.includes(v)) {
      throw new ModelServeError('InvalidArgument', `model '${model}': ${what} ${v} is not a version of the model; versions: ${versions.join(', ') || 'none'}`);
    }
  };
  known(routing.defaultVersion, 'default version');
  known(routing.shadowVersion, 'shadow version');
  const seen = new Set<number>();
  for (const { version, weight } of routing.split) {
    known(version, 'split version');
    if (!Number.isFinite(weight) || weight < 0) throw new ModelServeError('InvalidArgument', `model '${model}': split weight of version ${version} must be ≥ 0, got ${weight}`);
    if (seen.has(version)) throw new ModelServeError('InvalidArgument', `model '${model}': version ${version} appears twice in the split`);
    seen.add(version);
  }
  if (routing.split.length > 0 && routing.split.every((s) => s.weight === 0)) {
    throw new ModelServeError('InvalidArgument', `model '${model}': split weights are all 0`);
  }
}

/** A uniform number in (0, 1) from a key and a version: the same inputs always give the same number. */
function unitHash(key: string, version: number): number {
  const digest = createHash('sha1').update(`${key}\u0000${version}`).digest();
  // 48 bits, never 0 or 1.
  return (digest.readUIntBE(0, 6) + 0.5) / 2 ** 48;
}

/**
 * Weighted rendezvous hashing: each version scores -weight / ln(u) with u the key's hash for that
 * version, and the highest score wins. A key keeps its version while weights stay the same, and
 * when they change only keys whose winner changes move: about as many as the weights moved.
 */
export function stickyChoice(key: string, split: ReadonlyArray<{ version: number; weight: number }>): number {
  let best = split[0]!.version;
  let bestScore = -Infinity;
  for (const { version, weight } of split) {
    if (weight <= 0) continue;
    const score = -weight / Math.log(unitHash(key, version));
    if (score > bestScore) {
      bestScore = score;
      best = version;
    }
  }
  return best;
}

/** A version by weight, at random. */
export function weightedChoice(split: ReadonlyArray<{ version: number; weight: number }>, random: () => number = Math.random): number {
  const total = split.reduce((sum, s) => sum + s.weight, 0);
  let r = random() * total;
  for (const s of split) {
    r -= s.weight;
    if (r < 0) return s.version;
  }
  return split[split.length - 1]!.version;
}

/** A model's routing now in force, and the ones before it for rollback. */
export class ModelRouter {
  private current: Routing;
  private readonly history: Routing[] = [];

  constructor(initial: Routing = emptyRouting) {
    this.current = cloneRouting(initial);
  }

  get routing(): Routing {
    return cloneRouting(this.current);
  }

  /** How many routings `rollback` can go back. */
  get depth(): number {
    return this.history.length;
  }

  /** Puts `routing` in force in one step, keeping the previous one for rollback. */
  set(routing: Routing): void {
    this.history.push(this.current);
    if (this.history.length > 32) this.history.shift();
    this.current = cloneRouting(routing);
  }

  /** Replaces the routing without history (a reloaded config.yaml). */
  reset(routing: Routing): void {
    this.current = cloneRouting(routing);
  }

  /** Goes back to the previous routing; `FailedPrecondition` when there is none. */
  rollback(model: string): Routing {
    const previous = this.history.pop();
    if (previous === undefined) throw new ModelServeError('FailedPrecondition', `model '${model}' has no earlier routing to roll back to`);
    this.current = previous;
    return this.routing;
  }

  /**
   * The version for a request that names none, among `ready` versions: the split (sticky when a
   * routing key is given) over its ready versions, else the default version, else undefined (the
   * caller picks the highest ready one).
   */
  choose(ready: (version: number) => boolean, routingKey: string | undefined): number | undefined {
    if (this.current.split.length === 0) return this.current.defaultVersion;
    const split = this.current.split.filter((s) => s.weight > 0 && ready(s.version));
    if (split.length > 0) return routingKey === undefined || routingKey === '' ? weightedChoice(split) : stickyChoice(routingKey, split);
    return this.current.defaultVersion;
  }

  /** The default version in force, without copying the routing (read per request). */
  get defaultVersion(): number | undefined {
    return this.current.defaultVersion;
  }

  /** The shadow version, if it is ready and not the version that answers. */
  shadowFor(answering: number, ready: (version: number) => boolean): number | undefined {
    const shadow = this.current.shadowVersion;
    return shadow !== undefined && shadow !== answering && ready(shadow) ? shadow : undefined;
  }
}

function cloneRouting(r: Routing): Routing {
  return { defaultVersion: r.defaultVersion, split: r.split.map((s) => ({ ...s })), shadowVersion: r.shadowVersion };
}
