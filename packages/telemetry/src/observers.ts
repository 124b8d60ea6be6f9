import type { InferenceObserver, VersionObserver } from '@modelserve/core';

/** One observer that tells each of `observers` everything (metrics, traces, drift side by side). */
export function combineObservers(...observers: Array<InferenceObserver | undefined>): InferenceObserver | undefined {
  const list = observers.filter((o): o is InferenceObserver => o !== undefined);
  if (list.length <= 1) return list[0];
  return {
    version(model, version) {
      const parts = list.map((o) => o.version(model, version));
      const traced = parts.filter((p) => p.tracedRun !== undefined);
      const compared = parts.filter((p) => p.compared !== undefined);
      const cached = parts.filter((p) => p.cache !== undefined);
      const combined: VersionObserver = {
        queued: (seconds) => parts.forEach((p) => p.queued(seconds)),
        ran: (samples, seconds, requests) => parts.forEach((p) => p.ran(samples, seconds, requests)),
      };
      if (traced.length > 0) combined.tracedRun = (run) => traced.forEach((p) => p.tracedRun!(run));
      if (cached.length > 0) combined.cache = (outcome) => cached.forEach((p) => p.cache!(outcome));
      if (compared.length > 0) combined.compared = (against, rows, agreeing) => compared.forEach((p) => p.compared!(against, rows, agreeing));
      return combined;
    },
    versionState(model, version, state) {
      for (const o of list) o.versionState?.(model, version, state);
    },
    finished(request, version, outcome, seconds, response) {
      for (const o of list) o.finished(request, version, outcome, seconds, response);
    },
  };
}
