/**
 * How closely two versions' outputs for the same request agree, for A/B decisions: for each
 * output both have with the same shape, rows whose argmax agrees (classifiers: outputs of rank ≥ 2
 * with more than one class) and the absolute difference summed over elements (regressors).
 */
import type { NamedTensor } from './tensor.js';

/** Sums over one comparison. */
export interface OutputAgreement {
  /** Rows compared by argmax, and how many agreed. */
  rows: number;
  agreeingRows: number;
  /** Elements compared, and the sum of their absolute differences. */
  elements: number;
  absDiffSum: number;
}

function argmaxRows(data: ArrayLike<number>, width: number): number[] {
  const out: number[] = [];
  for (let start = 0; start + width <= data.length; start += width) {
    let best = 0;
    for (let j = 1; j < width; j++) if (data[start + j]! > data[start + best]!) best = j;
    out.push(best);
  }
  return out;
}

/** Compares `a` (the version that answered) with `b` (the shadow). */
export function compareOutputs(a: readonly NamedTensor[], b: readonly NamedTensor[]): OutputAgreement {
  const result: OutputAgreement = { rows: 0, agreeingRows: 0, elements: 0, absDiffSum: 0 };
  for (const x of a) {
    const y = b.find((t) => t.name === x.name);
    if (y === undefined || x.datatype === 'BYTES' || y.datatype !== x.datatype || x.shape.join() !== y.shape.join()) continue;
    const xs = Array.from(x.data as ArrayLike<number | bigint>, Number);
    const ys = Array.from(y.data as ArrayLike<number | bigint>, Number);
    for (let i = 0; i < xs.length; i++) result.absDiffSum += Math.abs(xs[i]! - ys[i]!);
    result.elements += xs.length;
    const width = x.shape.at(-1) ?? 1;
    if (x.shape.length >= 2 && width > 1) {
      const ax = argmaxRows(xs, width);
      const ay = argmaxRows(ys, width);
      result.rows += ax.length;
      ax.forEach((v, i) => (result.agreeingRows += v === ay[i] ? 1 : 0));
    }
  }
  return result;
}
