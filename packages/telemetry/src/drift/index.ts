/**
 * Drift monitoring: per model version, the distribution of inputs and outputs against a
 * reference profile (reference.json, or frozen from the first requests).
 */

// Monitoring
export { DriftMonitor } from './monitor.js';
export type { DriftMonitorOptions, DriftReport, DriftState } from './monitor.js';
export { compareProfiles, DEFAULT_ALERT_PSI, DEFAULT_TOP_K, DEFAULT_WARN_PSI, levelOfPsi } from './compare.js';
export type { DriftLevel, DriftThresholds, FeatureDrift, TensorDrift } from './compare.js';

// Profiles (reference.json)
export { addProfiles, parseProfile, PROFILE_FORMAT, serialiseProfile } from './profile.js';
export type { FeatureProfile, Profile, TensorProfile } from './profile.js';
export { DEFAULT_BIN_COUNT, DEFAULT_REFERENCE_SAMPLES, ProfileBuilder } from './profile-builder.js';
export type { ProfileBuilderOptions } from './profile-builder.js';
export { ProfileCounter } from './profile-counter.js';

// Statistics and features
export { jensenShannon, kolmogorovSmirnov, psi, PSI_EPSILON } from './statistics.js';
export { DEFAULT_ELEMENT_FEATURE_LIMIT, DEFAULT_MAX_CLASSES, SUMMARY_FEATURES } from './features.js';
export type { FeatureOptions, TensorKind } from './features.js';
export type { Bins } from './bins.js';
