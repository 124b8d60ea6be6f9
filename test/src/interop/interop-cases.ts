/** Inputs and reference outputs the Python interop suites check against (both derive inputs from sampleValues). */
import { demoCnn, demoMlp } from '@modelserve/model-zoo';
import { sampleValues } from '../support/tensors.js';

const mlps = { 1: demoMlp(1), 2: demoMlp(2) } as const;

/** `rows` samples for mnist_mlp `version` from `seed`, with the reference evaluator's outputs. */
export function mlpCase(version: 1 | 2, rows: number, seed: number) {
  return { version: String(version), rows, seed, expected: Array.from(mlps[version].forward(sampleValues(rows * 784, seed), rows)) };
}

/**
 * The 1,000-request stream both suites send: ids "0".."999", both versions and batch sizes 1, 2,
 * 3 and 5; every input distinct, so an answer sent to the wrong id shows up as wrong outputs.
 */
export function streamCases() {
  return Array.from({ length: 1000 }, (_, i) => ({ id: String(i), ...mlpCase(((i % 2) + 1) as 1 | 2, [1, 2, 3, 5][Math.floor(i / 2) % 4]!, 10_000 + i) }));
}

/** The CNN case both suites check after reloading mnist_cnn. */
export function cnnCase() {
  const rows = 2;
  return { rows, seed: 7, expected: Array.from(demoCnn().forward(sampleValues(rows * 784, 7), rows)) };
}

/** What every expectations file starts with: a check that both sides generate the same inputs. */
export const lcgCheck = () => ({ seed: 42, values: Array.from(sampleValues(8, 42)) });
