import { invalidArgument } from './errors.js';
import { formatShape, type ModelSignature, type TensorSpec } from './metadata.js';
import { elementCount, type NamedTensor } from './tensor.js';

/** Longest BYTES element accepted by default: 16 MiB. */
export const defaultMaxBytesElement = 16 * 1024 * 1024;

function describe(specs: readonly TensorSpec[]): string {
  return specs.map((s) => `'${s.name}' ${s.datatype} ${formatShape(s.shape)}`).join(', ');
}

/**
 * Checks a request's inputs and requested outputs against a model's signature, before any work
 * is queued. Every message names the model, the tensor, what was expected and what was got.
 */
export function validateRequest(
  label: string,
  signature: ModelSignature,
  maxBatchSize: number,
  inputs: readonly NamedTensor[],
  outputs: readonly string[],
  maxBytesElement = defaultMaxBytesElement,
): void {
  // Inputs are found by name; a plain scan for the usual handful, a map for many.
  const given = inputs.length > 8 ? new Map<string, NamedTensor>() : undefined;
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i]!;
    const repeated = given !== undefined ? given.has(input.name) : findByName(inputs, input.name, i) !== undefined;
    if (repeated) throw invalidArgument(`${label}: input '${input.name}' is given more than once`);
    given?.set(input.name, input);
    if (input.datatype === 'BYTES') {
      const elements = input.data as Uint8Array[];
      for (let e = 0; e < elements.length; e++) {
        if (elements[e]!.byteLength > maxBytesElement) {
          throw invalidArgument(`${label}: input '${input.name}' BYTES element ${e} is ${elements[e]!.byteLength} bytes, expected at most ${maxBytesElement}`);
        }
      }
    }
  }
  for (const input of inputs) {
    if (findByName(signature.inputs, input.name) === undefined) {
      throw invalidArgument(`${label}: unexpected input '${input.name}'; the model's inputs are ${describe(signature.inputs)}`);
    }
  }
  let batch: number | undefined;
  for (const spec of signature.inputs) {
    const input = given !== undefined ? given.get(spec.name) : findByName(inputs, spec.name);
    if (input === undefined) {
      const got = inputs.length === 0 ? 'none' : inputs.map((i) => `'${i.name}'`).join(', ');
      throw invalidArgument(`${label}: missing input '${spec.name}'; expected inputs ${describe(signature.inputs)}, got ${got}`);
    }
    checkInput(label, spec, input);
    if (maxBatchSize > 0) {
      const first = input.shape[0];
      if (first === undefined) throw invalidArgument(`${label} input '${spec.name}': a batched model needs a batch dimension, got a scalar`);
      if (first > maxBatchSize) {
        throw invalidArgument(`${label} input '${spec.name}': batch size ${first} exceeds max_batch_size ${maxBatchSize}`);
      }
      if (batch !== undefined && first !== batch) {
        throw invalidArgument(`${label} input '${spec.name}': batch size ${first} differs from the other inputs' ${batch}`);
      }
      batch = first;
    }
  }
  for (const name of outputs) {
    if (findByName(signature.outputs, name) === undefined) {
      throw invalidArgument(`${label}: unknown output '${name}' requested; the model's outputs are ${describe(signature.outputs)}`);
    }
  }
}

/** The first of `list` (up to `end`) named `name`. */
function findByName<T extends { name: string }>(list: readonly T[], name: string, end = list.length): T | undefined {
  for (let i = 0; i < end; i++) if (list[i]!.name === name) return list[i];
  return undefined;
}

/** How a message names an input. */
function where(label: string, spec: TensorSpec): string {
  return `${label} input '${spec.name}'`;
}

function checkInput(label: string, spec: TensorSpec, input: NamedTensor): void {
  if (input.datatype !== spec.datatype) {
    throw invalidArgument(`${where(label, spec)}: datatype ${input.datatype}, expected ${spec.datatype}`);
  }
  if (spec.shape !== null) {
    if (input.shape.length !== spec.shape.length) {
      throw invalidArgument(
        `${where(label, spec)}: shape ${formatShape(input.shape)} has rank ${input.shape.length}, expected rank ${spec.shape.length} (${formatShape(spec.shape)})`,
      );
    }
    for (let i = 0; i < spec.shape.length; i++) {
      const expected = spec.shape[i]!;
      const got = input.shape[i];
      if (expected >= 0 && got !== expected) {
        throw invalidArgument(`${where(label, spec)}: dimension ${i} is ${got}, expected ${expected} (shape ${formatShape(spec.shape)}, got ${formatShape(input.shape)})`);
      }
    }
  }
  const count = elementCount(input.shape);
  if (input.data.length !== count) {
    throw invalidArgument(`${where(label, spec)}: ${input.data.length} elements given, expected ${count} for shape ${formatShape(input.shape)}`);
  }
}
