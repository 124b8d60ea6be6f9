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

/**
 * Where requests that name no version actually go now, given which versions are ready: the
 * routing as `choose` applies it. A split version that is not ready gets nothing and its share
 * goes to the split's ready versions, by their weights; with none of them ready, the default
 * version takes every request; a default version that is not ready answers none (they get
 * UNAVAILABLE); with no default, the highest ready version takes them.
 */
export interface EffectiveRouting {
  /** The versions that answer, with each one's share of the requests in percent (summing to 100); empty when none can. */
  shares: Array<{ version: number; percent: number }>;
  /** The version that gets a copy of each request it does not answer itself, when it is ready. */
  shadowVersion: number | undefined;
  /** What in the routing does not happen now, and what happens instead; empty when it all does. */
  notes: string[];
}

/** A share for messages: `90%`, `33.3%`. */
export function formatPercent(percent: number): string {
  return `${Number(percent.toFixed(1))}%`;
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

  /** Goes back to the previous routing, once `check` accepts it; `FailedPrecondition` when there is none. */
  rollback(model: string, check: (previous: Routing) => void = () => undefined): Routing {
    const previous = this.history.at(-1);
    if (previous === undefined) throw new ModelServeError('FailedPrecondition', `model '${model}' has no earlier routing to roll back to`);
    check(cloneRouting(previous));
    this.history.pop();
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

  /**
   * What `choose` and `shadowFor` do now with the routing in force: each answering version's
   * share, the shadow that gets copies, and notes on what does not happen as set. `notReady`
   * says why a version is not ready (`not loaded (UNAVAILABLE: unloaded)`); `highestReady` is
   * the version taking requests when nothing else is named.
   */
  effective(ready: (version: number) => boolean, notReady: (version: number) => string, highestReady: number | undefined): EffectiveRouting {
    const { split, defaultVersion, shadowVersion } = this.current;
    const notes: string[] = [];
    const unanswered = 'requests naming no version get UNAVAILABLE';
    const byDefault = (): EffectiveRouting['shares'] => {
      if (defaultVersion !== undefined) {
        if (ready(defaultVersion)) return [{ version: defaultVersion, percent: 100 }];
        notes.push(`default version ${defaultVersion} is ${notReady(defaultVersion)}: ${unanswered}`);
        return [];
      }
      if (highestReady !== undefined) return [{ version: highestReady, percent: 100 }];
      notes.push(`no version is ready: ${unanswered}`);
      return [];
    };
    let shares: EffectiveRouting['shares'];
    const weighted = split.filter((s) => s.weight > 0);
    if (weighted.length === 0) {
      shares = byDefault();
    } else {
      const total = weighted.reduce((sum, s) => sum + s.weight, 0);
      const live = weighted.filter((s) => ready(s.version));
      const gone = weighted.filter((s) => !ready(s.version));
      if (live.length > 0) {
        const liveTotal = live.reduce((sum, s) => sum + s.weight, 0);
        shares = live.map((s) => ({ version: s.version, percent: (100 * s.weight) / liveTotal }));
        const to = live.length === 1 ? `version ${live[0]!.version}` : `versions ${live.map((s) => s.version).join(' and ')} by their weights`;
        for (const s of gone) notes.push(`split version ${s.version} (set to ${formatPercent((100 * s.weight) / total)}) is ${notReady(s.version)}: its share goes to ${to}`);
      } else {
        const instead = defaultVersion !== undefined ? `the default version ${defaultVersion}` : 'the highest ready version';
        notes.push(`no split version is ready (${gone.map((s) => `${s.version} is ${notReady(s.version)}`).join('; ')}): requests go to ${instead}`);
        shares = byDefault();
      }
    }
    let shadow: number | undefined;
    if (shadowVersion !== undefined) {
      const answers = shares.find((s) => s.version === shadowVersion)?.percent ?? 0;
      if (!ready(shadowVersion)) notes.push(`shadow version ${shadowVersion} is ${notReady(shadowVersion)}: no copies are made`);
      else if (answers >= 100) notes.push(`shadow version ${shadowVersion} answers every request itself: no copies are made`);
      else {
        shadow = shadowVersion;
        if (answers > 0) notes.push(`shadow version ${shadowVersion} also answers ${formatPercent(answers)} of requests: those get no copy`);
      }
    }
    return { shares, shadowVersion: shadow, notes };
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
