/** A generated model plus a plain-TypeScript evaluator of the same function. */
export interface GeneratedModel {
  /** Serialized ONNX ModelProto. */
  bytes: Uint8Array;
  /** Computes the model's `output` for `batch` rows packed row-major in `input`. */
  forward(input: Float32Array, batch: number): Float32Array;
}

/** Throws unless `input` holds exactly `expected` values (a wrong batch silently reads garbage otherwise). */
export function checkInput(input: Float32Array, expected: number, model: string): void {
  if (input.length !== expected) {
    throw new Error(`${model}.forward: expected ${expected} input values, got ${input.length}`);
  }
}
