import { access, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatShape, ModelRegistry, type NamedTensor, type TensorSpec } from '@modelserve/core';
import type { DataType } from '@modelserve/proto';
import { ProfileBuilder, serialiseProfile } from '@modelserve/telemetry';
import { parseNpy, type NpyArray } from '../npy.js';
import { flattenJson, tensorFromValues } from '../tensor-json.js';
import { bundledRepository } from './serve.js';

/** Options of `modelserve profile`. */
export interface ProfileOptions {
  /** Default: the bundled demo repository. */
  modelRepository?: string;
  /** Default: the highest version on disk. */
  modelVersion?: number;
  /** A .npy or .jsonl file of samples. */
  input: string;
  /** The input a .npy file (or a .jsonl file of arrays) holds; default: the model's only input. */
  inputName?: string;
  /** Rows per run. */
  batch: number;
  /** Default: every row of the file. */
  samples?: number;
  /** Default: `<repository>/<model>/<version>/reference.json`. */
  output?: string;
  force?: boolean;
}

/** The samples read from a file: how many, and the input tensors of rows `start` to `end`. */
interface Samples {
  rows: number;
  batch(start: number, end: number): NamedTensor[];
}

/** The model's input a file's arrays are for: `--input-name`, else the only one. */
function inputFor(inputs: readonly TensorSpec[], name: string | undefined, file: string, model: string): TensorSpec {
  const names = inputs.map((i) => i.name).join(', ');
  if (name !== undefined) {
    const spec = inputs.find((i) => i.name === name);
    if (spec === undefined) throw new Error(`--input-name: model '${model}' has no input '${name}'; its inputs: ${names}`);
    return spec;
  }
  if (inputs.length !== 1) throw new Error(`model '${model}' has inputs ${names}: name the one ${file} holds with --input-name (or write a .jsonl file of objects {"<input>": sample, ...})`);
  return inputs[0]!;
}

/** An input's shape without its batch dimension; undefined when the model leaves the rank open. */
function sampleShape(spec: TensorSpec, model: string): number[] | undefined {
  if (spec.shape === null) return undefined;
  if (spec.shape.length === 0 || (spec.shape[0] !== -1 && spec.shape[0] !== 1)) {
    throw new Error(`input '${spec.name}' of model '${model}' has shape ${formatShape(spec.shape)}: its first dimension is not a batch dimension (-1), so it takes no rows of samples`);
  }
  return spec.shape.slice(1);
}

/** Whether a sample's shape fits the input's (-1: any size), and the first sample's. */
const fits = (got: readonly number[], expected: readonly number[] | undefined): boolean =>
  expected === undefined || (got.length === expected.length && got.every((d, i) => expected[i] === -1 || expected[i] === d));

/** The rows of a .npy array for one input, FP64 converted to an FP32 input. */
function npySamples(array: NpyArray, spec: TensorSpec, file: string, model: string): Samples {
  if (array.shape.length === 0) throw new Error(`${file}: holds a scalar; its first dimension must count the samples`);
  const [rows, ...shape] = array.shape as [number, ...number[]];
  const expected = sampleShape(spec, model);
  if (!fits(shape, expected)) {
    throw new Error(`${file}: rows of shape ${formatShape(shape)} do not fit input '${spec.name}' of model '${model}': expected rows of shape ${formatShape(expected ?? [])} (its shape ${formatShape(spec.shape)} without the batch dimension)`);
  }
  const convert = array.descr === '<f8' && spec.datatype === 'FP32';
  if (array.datatype !== spec.datatype && !convert) {
    throw new Error(`${file}: holds '${array.descr}' (${array.datatype}) but input '${spec.name}' of model '${model}' takes ${spec.datatype}; the only conversion made is of '<f8' to an FP32 input`);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  return {
    rows,
    batch(start, end) {
      // A copy per batch: the backend may take its buffer.
      const part = array.data.slice(start * size, end * size);
      const data = convert ? Float32Array.from(part as Float64Array) : part;
      return [{ name: spec.name, datatype: spec.datatype, shape: [end - start, ...shape], data } as NamedTensor];
    },
  };
}

/**
 * The rows of a .jsonl file: each line one sample, a JSON array of the single input (or of
 * `--input-name`'s), or an object of samples by input name. Every line is checked against the
 * model's inputs and the first line's shapes, and refused naming its number.
 */
function jsonlSamples(text: string, inputs: readonly TensorSpec[], inputName: string | undefined, file: string, model: string, limit: number): Samples {
  const byInput = new Map<string, { spec: TensorSpec; expected: number[] | undefined; shape?: number[]; rows: NamedTensor['data'][] }>();
  let rows = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length && rows < limit; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const where = `${file} line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new Error(`${where}: not valid JSON: ${(error as Error).message}`);
    }
    const samples: Array<[string, unknown]> = Array.isArray(value)
      ? [[inputFor(inputs, inputName, file, model).name, value]]
      : value !== null && typeof value === 'object'
        ? Object.entries(value)
        : [];
    if (samples.length === 0) throw new Error(`${where}: expected a JSON array (a sample) or an object of samples by input name, got ${line.slice(0, 40)}`);
    if (rows > 0 && (samples.length !== byInput.size || samples.some(([name]) => !byInput.has(name)))) {
      throw new Error(`${where}: has inputs ${samples.map(([name]) => name).join(', ')}, expected those of the first line: ${[...byInput.keys()].join(', ')}`);
    }
    for (const [name, sample] of samples) {
      let entry = byInput.get(name);
      if (entry === undefined) {
        const spec = inputs.find((s) => s.name === name);
        if (spec === undefined) throw new Error(`${where}: model '${model}' has no input '${name}'; its inputs: ${inputs.map((s) => s.name).join(', ')}`);
        entry = { spec, expected: sampleShape(spec, model), rows: [] };
        byInput.set(name, entry);
      }
      const { shape, values } = flattenJson(sample, `${where}: input '${name}'`, entry.expected);
      const expected = entry.shape ?? entry.expected;
      if (!fits(shape, expected)) throw new Error(`${where}: input '${name}': expected a sample of shape ${formatShape(expected ?? [])}, got ${formatShape(shape)}`);
      entry.shape ??= shape;
      entry.rows.push(tensorFromValues(name, entry.spec.datatype as DataType, shape, values).data as NamedTensor['data']);
    }
    rows++;
  }
  return {
    rows,
    batch(start, end) {
      return [...byInput.values()].map(({ spec, shape, rows: data }) => ({ name: spec.name, datatype: spec.datatype, shape: [end - start, ...shape!], data: concat(data.slice(start, end)) }) as NamedTensor);
    },
  };
}

/** Typed arrays of one kind (or BYTES elements) end to end. */
function concat(parts: ReadonlyArray<NamedTensor['data']>): NamedTensor['data'] {
  const first = parts[0]!;
  if (Array.isArray(first)) return (parts as Uint8Array[][]).flat();
  const length = parts.reduce((n, p) => n + p.length, 0);
  const out = new (first.constructor as new (n: number) => Exclude<NamedTensor['data'], Uint8Array[]>)(length);
  let at = 0;
  for (const part of parts as Array<Exclude<NamedTensor['data'], Uint8Array[]>>) {
    (out as Float64Array).set(part as Float64Array, at);
    at += part.length;
  }
  return out;
}

/**
 * Runs a data file's samples through a model version in this process (no server) and writes the
 * profile of its inputs and outputs, the reference a server compares that version's traffic with.
 */
export async function profile(model: string, options: ProfileOptions): Promise<void> {
  const extension = path.extname(options.input).toLowerCase();
  if (extension !== '.npy' && extension !== '.jsonl') throw new Error(`--input ${options.input}: expected a .npy or .jsonl file`);
  const repository = options.modelRepository ?? bundledRepository;
  const registry = await ModelRegistry.open({ repository, controlMode: 'explicit', loadModels: [model] });
  try {
    const onDisk = registry.status(model).versions.map((v) => v.version);
    if (onDisk.length === 0) throw new Error(`model '${model}' has no version in ${path.join(repository, model)}`);
    const version = options.modelVersion ?? Math.max(...onDisk);
    const output = options.output ?? path.join(repository, model, String(version), 'reference.json');
    const exists = await access(output).then(
      () => true,
      () => false,
    );
    if (exists && options.force !== true) throw new Error(`${output} exists: --force to overwrite it`);
    if (!registry.isReady(model, version)) await registry.load(model, version);
    if (!registry.isReady(model, version)) {
      const reason = registry.status(model).versions.find((v) => v.version === version)?.reason ?? 'not ready';
      throw new Error(`model '${model}' version ${version} did not load: ${reason}`);
    }
    const metadata = registry.metadata(model, version);
    if (registry.config(model).drift === undefined) {
      console.error(`modelserve: note: model '${model}' has no drift: block in its config.yaml; a server watches its drift only once it has one`);
    }
    const limit = options.samples ?? Infinity;
    const samples =
      extension === '.npy'
        ? npySamples(parseNpy(await readFile(options.input), options.input), inputFor(metadata.inputs, options.inputName, options.input, model), options.input, model)
        : jsonlSamples(await readFile(options.input, 'utf8'), metadata.inputs, options.inputName, options.input, model, limit);
    const rows = Math.min(samples.rows, limit);
    if (rows === 0) throw new Error(`${options.input}: holds no samples`);
    // At most the model's max_batch_size rows per run; one when an input's first dimension is 1.
    const one = metadata.inputs.some((s) => s.shape?.[0] === 1);
    const batch = one ? 1 : Math.max(1, Math.min(options.batch, metadata.maxBatchSize > 0 ? metadata.maxBatchSize : Infinity));
    const builder = new ProfileBuilder(model, version, { samples: rows });
    for (let start = 0; start < rows; start += batch) {
      const end = Math.min(rows, start + batch);
      const inputs = samples.batch(start, end);
      const response = await registry.infer({ model, version, id: 'profile', inputs });
      builder.add(inputs, response.outputs);
    }
    const reference = builder.freeze();
    await writeFile(output, serialiseProfile(reference), { flag: options.force === true ? 'w' : 'wx' });
    const features = reference.tensors.reduce((n, t) => n + t.features.length, 0);
    console.log(`wrote ${output}: ${reference.samples} samples, ${reference.tensors.length} tensors, ${features} features`);
  } finally {
    await registry.close();
  }
}
