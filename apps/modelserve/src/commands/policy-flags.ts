/** The autoscaling policy's command-line flags, shared by `modelserve cluster` and `modelserve autoscale simulate`. */
import { checkPolicyConfig, defaultPolicy, type PolicyConfig } from '@modelserve/autoscale';

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

/** The policy's fields as commander parses their flags: `target`, `min` and `max` by their flag names. */
export type PolicyFlagValues = Omit<PolicyConfig, 'targetPerReplica' | 'minReplicas' | 'maxReplicas'> & { target: number; min: number; max: number };

/** The policy the flags ask for (the defaults where a command has no flag), checked as checkPolicyFlags does. */
export function policyFromFlags(values: Partial<PolicyFlagValues> & Pick<PolicyFlagValues, 'target' | 'min' | 'max'>): PolicyConfig {
  const config: PolicyConfig = { ...defaultPolicy, targetPerReplica: values.target, minReplicas: values.min, maxReplicas: values.max };
  for (const key of Object.keys(policyFlags) as (keyof PolicyConfig)[]) {
    const value = (values as Partial<Record<keyof PolicyConfig, number>>)[key];
    if (value !== undefined) config[key] = value;
  }
  return checkPolicyFlags(config);
}
