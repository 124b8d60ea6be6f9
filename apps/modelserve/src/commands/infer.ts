import { readFile } from 'node:fs/promises';
import { decodeTensor, encodeTensor, isDataType, type ModelMetadata__Output, type PredictResponse__Output } from '@modelserve/proto';
import { call, connect } from '../client.js';
import { flattenJson, generatedValues, tensorFromValues, valuesOf } from '../tensor-json.js';

/** Options of `modelserve infer`. */
export interface InferOptions {
  address: string;
  modelVersion: string;
  input: string[];
  output: string[];
  id: string;
}

/** Parses `NAME=VALUE`; VALUE is JSON, `@file.json`, `random` or `zeros`. */
async function inputValue(spec: string): Promise<{ name: string; value: unknown }> {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new Error(`--input ${JSON.stringify(spec)}: expected NAME=VALUE (VALUE: JSON, @file.json, random or zeros)`);
  const name = spec.slice(0, eq);
  const text = spec.slice(eq + 1);
  if (text === 'random' || text === 'zeros') return { name, value: text };
  const json = text.startsWith('@') ? await readFile(text.slice(1), 'utf8') : text;
  try {
    return { name, value: JSON.parse(json) };
  } catch (error) {
    throw new Error(`--input ${name}: not valid JSON: ${(error as Error).message}`);
  }
}

/** Runs one prediction and prints the outputs as JSON. Inputs not given are random. */
export async function infer(model: string, options: InferOptions): Promise<void> {
  const client = connect(options.address);
  try {
    const metadata = await call<ModelMetadata__Output>((cb) => client.admin.GetModelMetadata({ name: model, version: options.modelVersion }, cb));
    const given = new Map((await Promise.all(options.input.map(inputValue))).map((i) => [i.name, i.value]));
    for (const name of given.keys()) {
      if (!metadata.inputs.some((i) => i.name === name)) {
        throw new Error(`model '${model}' has no input '${name}'; its inputs are ${metadata.inputs.map((i) => i.name).join(', ')}`);
      }
    }
    const inputs = metadata.inputs.map((spec) => {
      if (!isDataType(spec.datatype)) throw new Error(`input '${spec.name}' has unknown datatype ${spec.datatype}`);
      const value = given.get(spec.name) ?? 'random';
      if (value === 'random' || value === 'zeros') {
        const shape = spec.shape.map((d) => Math.max(1, Number(d)));
        const count = shape.reduce((a, b) => a * b, 1);
        return encodeTensor(tensorFromValues(spec.name, spec.datatype, shape, generatedValues(spec.datatype, count, value)), 'raw');
      }
      // Values are checked here, before anything is sent. The nesting is checked against the model's
      // rank, but for a shape of [-1], which is also how a model that leaves the rank open is listed.
      const modelShape = spec.shape.map(Number);
      const rankKnown = !(modelShape.length === 1 && modelShape[0] === -1);
      const { shape, values } = flattenJson(value, `input '${spec.name}'`, rankKnown ? modelShape : undefined);
      return encodeTensor(tensorFromValues(spec.name, spec.datatype, shape, values), 'raw');
    });
    const response = await call<PredictResponse__Output>((cb) =>
      client.predictor.Predict({ model_name: model, model_version: options.modelVersion, id: options.id, inputs, outputs: options.output }, cb),
    );
    const outputs = response.outputs.map((wire) => {
      const raw = wire.raw_contents.length > 0 ? wire.raw_contents : null;
      const tensor = decodeTensor(wire, raw, `output '${wire.name}'`);
      return { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape, data: valuesOf(tensor) };
    });
    console.log(JSON.stringify({ model_name: response.model_name, model_version: response.model_version, id: response.id, outputs }));
  } finally {
    client.close();
  }
}
