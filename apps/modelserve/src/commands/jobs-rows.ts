/**
 * `modelserve jobs submit --rows FILE.jsonl`: a local JSONL file's rows as the inline rows of a
 * SubmitJobRequest, each checked against the model's metadata before anything is sent, the way
 * `infer` builds its inputs (tensor-json.ts).
 */
import { encodeTensor, isDataType, type JobRow, type ModelMetadata__Output } from '@modelserve/proto';
import { flattenJson, tensorFromValues } from '../tensor-json.js';

const shown = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/** The shape of one row of an input (no batch dimension for a model that batches); undefined when the model leaves the rank open. */
function rowShape(shape: readonly string[], batches: boolean): number[] | undefined {
  const dims = shape.map(Number);
  // [-1] is also how a model that leaves the rank open is listed: its nesting is not checked.
  if (dims.length === 1 && dims[0] === -1) return undefined;
  return batches ? dims.slice(1) : dims;
}

/**
 * Each non-blank line of `text` as one row: `{"input": value}` for a model with one input, or
 * `{"inputs": {"name": value, ...}}` naming every input; a value is the row's nested JSON array
 * (no batch dimension). Throws, naming the file and line, for anything else.
 */
export function rowsFromJsonl(text: string, file: string, metadata: ModelMetadata__Output): JobRow[] {
  const batches = metadata.max_batch_size > 0;
  const names = metadata.inputs.map((i) => i.name);
  const rows: JobRow[] = [];
  const lines = text.split('\n');
  for (let l = 0; l < lines.length; l++) {
    const line = lines[l]!.trim();
    if (line === '') continue;
    const where = `${file} line ${l + 1}`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      throw new Error(`${where}: not valid JSON: ${(error as Error).message}`);
    }
    const record = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    const keys = record === undefined ? [] : Object.keys(record);
    if (record === undefined || keys.length !== 1 || (keys[0] !== 'input' && keys[0] !== 'inputs')) {
      throw new Error(`${where}: expected {"input": [...]} or {"inputs": {"<name>": [...], ...}}, got ${shown(parsed)}`);
    }
    let values: Record<string, unknown>;
    if (keys[0] === 'input') {
      if (names.length !== 1) throw new Error(`${where}: "input" is for a model with one input, '${metadata.name}' has ${names.length} (${names.join(', ')}): use {"inputs": {"<name>": [...], ...}}`);
      values = { [names[0]!]: record.input };
    } else {
      const inputs = record.inputs;
      if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) throw new Error(`${where}: "inputs": expected an object of input names to values, got ${shown(inputs)}`);
      values = inputs as Record<string, unknown>;
      const unknown = Object.keys(values).filter((name) => !names.includes(name));
      if (unknown.length > 0) throw new Error(`${where}: model '${metadata.name}' has no input '${unknown[0]}'; its inputs are ${names.join(', ')}`);
      const missing = names.filter((name) => !(name in values));
      if (missing.length > 0) throw new Error(`${where}: expected every input of '${metadata.name}' (${names.join(', ')}), got no '${missing[0]}'`);
    }
    rows.push({
      inputs: metadata.inputs.map((spec) => {
        if (!isDataType(spec.datatype)) throw new Error(`input '${spec.name}' has unknown datatype ${spec.datatype}`);
        try {
          const expected = rowShape(spec.shape, batches);
          const { shape, values: flat } = flattenJson(values[spec.name], `input '${spec.name}'`, expected);
          if (expected !== undefined && expected.some((d, i) => d >= 0 && d !== shape[i])) {
            throw new Error(`input '${spec.name}': expected a row of shape [${expected.join(',')}] (-1: any size), got [${shape.join(',')}]`);
          }
          return encodeTensor(tensorFromValues(spec.name, spec.datatype, shape, flat), 'raw');
        } catch (error) {
          throw new Error(`${where}: ${(error as Error).message}`, { cause: error });
        }
      }),
    });
  }
  if (rows.length === 0) throw new Error(`${file}: expected at least one row, got none`);
  return rows;
}
