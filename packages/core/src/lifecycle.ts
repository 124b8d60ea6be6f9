import { ModelServeError } from './errors.js';
import type { VersionState } from './metadata.js';

/** The moves a version may make (Triton's model_lifecycle): anything else is a bug. */
const transitions: Readonly<Record<VersionState, readonly VersionState[]>> = {
  UNAVAILABLE: ['LOADING'],
  LOADING: ['READY', 'FAILED'],
  // READY → FAILED: every instance stopped for good (a worker died and could not restart).
  READY: ['UNLOADING', 'FAILED'],
  UNLOADING: ['UNAVAILABLE'],
  FAILED: ['LOADING', 'UNAVAILABLE'],
};

/** Whether a version in state `from` may move to `to`. */
export function canTransition(from: VersionState, to: VersionState): boolean {
  return transitions[from].includes(to);
}

/** Throws `Internal` for a move the lifecycle does not allow. */
export function assertTransition(label: string, from: VersionState, to: VersionState): void {
  if (!canTransition(from, to)) {
    throw new ModelServeError('Internal', `${label}: lifecycle cannot move from ${from} to ${to}`);
  }
}
