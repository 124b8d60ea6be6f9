/** @modelserve/core/testing: fakes for tests where the real backend is not the point. */
export { FakeBackend, gate } from './fake-backend.js';
export type { FakeModel, FakeRun } from './fake-backend.js';
export { ManualClock } from './manual-clock.js';
export { everyDatatype } from './every-datatype.js';
