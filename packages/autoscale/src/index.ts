export { checkPolicyConfig, defaultPolicy, desiredReplicas, trimHistory } from './policy.js';
export type { LoadSample, PolicyConfig, Recommendation, ScalingDecision, ScalingHistory } from './policy.js';
