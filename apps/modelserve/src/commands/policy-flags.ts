/** The autoscaling policy's command-line flags, shared by `modelserve cluster` and `modelserve autoscale simulate`. */
import { checkPolicyConfig, type PolicyConfig } from '@modelserve/autoscale';

/** The flag of each policy field. */
export const policyFlags: Readonly<Record<keyof PolicyConfig, string>> = {
  targetPerReplica: '--target',
  stableWindowMs: '--stable-window-ms',
  panicWindowMs: '--panic-window-ms',
  panicThreshold: '--panic-threshold',
  scaleUpDelayMs: '--scale-up-delay-ms',
  scaleDownDelayMs: '--scale-down-delay-ms',
  maxStepUp: '--max-step-up',
  stepUpPeriodMs: '--step-up-period-ms',
  maxStepDown: '--max-step-down',
  stepDownPeriodMs: '--step-down-period-ms',
  minReplicas: '--min',
  maxReplicas: '--max',
};

/** `config` checked (checkPolicyConfig); a refusal names the flags, what they expect and what they got. */
export function checkPolicyFlags(config: PolicyConfig): PolicyConfig {
  try {
    return checkPolicyConfig(config);
  } catch (error) {
    let message = (error as Error).message;
    for (const [key, flag] of Object.entries(policyFlags)) message = message.replace(new RegExp(`\\b${key}\\b`, 'g'), flag);
    throw new Error(message);
  }
}
