/**
 * Outlier ejection, as Envoy's consecutive-failures detector: an endpoint that fails so many calls
 * in a row takes no calls for a while, longer each time it is ejected again, and never so many
 * endpoints are ejected that the rest would be swamped. Pure: time comes in as `now`.
 */

/** Outlier ejection options (Envoy's consecutive-failures detector). */
export interface OutlierDetectionOptions {
  /** Failures in a row (UNAVAILABLE, INTERNAL, UNKNOWN, broken connections) that eject. Default 5. */
  consecutiveFailures?: number;
  /** First ejection time; each ejection in a row doubles it. Default 1000 ms. */
  baseEjectionMs?: number;
  /** Longest ejection. Default 30000 ms. */
  maxEjectionMs?: number;
  /** Most endpoints ejected at once, in percent (at least one, never all). Default 50. */
  maxEjectionPercent?: number;
}

/** What the detector reads and writes of an endpoint. */
export interface EjectionState {
  /** Failures in a row (UNAVAILABLE, INTERNAL, broken connections). */
  consecutiveFailures: number;
  /** Ejected until this time (`performance.now()` clock). */
  ejectedUntil: number;
  /** Ejections since it last served well; each doubles the next ejection time. */
  ejections: number;
}

/** Decides ejections; the caller owns the endpoints and the clock. */
export class OutlierDetector {
  readonly #options: Required<OutlierDetectionOptions>;

  constructor(options: OutlierDetectionOptions = {}) {
    this.#options = {
      consecutiveFailures: options.consecutiveFailures ?? 5,
      baseEjectionMs: options.baseEjectionMs ?? 1000,
      maxEjectionMs: options.maxEjectionMs ?? 30_000,
      maxEjectionPercent: options.maxEjectionPercent ?? 50,
    };
  }

  /**
   * After a failure that counts against `endpoint` (one of `all`): ejects it if it has failed
   * enough in a row and the ejection limit allows. Returns the ejection's length in ms, 0 if none.
   */
  afterFailure(endpoint: EjectionState, all: readonly EjectionState[], now: number): number {
    const o = this.#options;
    if (endpoint.consecutiveFailures < o.consecutiveFailures || endpoint.ejectedUntil > now) return 0;
    let ejected = 0;
    for (const e of all) if (e.ejectedUntil > now) ejected++;
    const allowed = Math.min(all.length - 1, Math.max(1, Math.floor((all.length * o.maxEjectionPercent) / 100)));
    if (ejected >= allowed) return 0;
    const ms = Math.min(o.maxEjectionMs, o.baseEjectionMs * 2 ** endpoint.ejections);
    endpoint.ejectedUntil = now + ms;
    endpoint.ejections++;
    endpoint.consecutiveFailures = 0;
    return ms;
  }

  /** After a success: an endpoint back from ejection earns back one doubling. */
  afterSuccess(endpoint: EjectionState, now: number): void {
    if (endpoint.ejections > 0 && endpoint.ejectedUntil <= now) endpoint.ejections--;
  }
}
