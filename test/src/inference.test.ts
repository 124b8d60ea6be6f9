/**
 * The Open Inference Protocol (`inference.GRPCInferenceService`, Triton's wire format) against a
 * real server: what Triton and KServe clients call, with the answers they expect.
 */
import { status, type ClientDuplexStream } from '@grpc/grpc-js';
import { demoMlp, demoTinyMlp } from '@modelserve/model-zoo';
import { decodeRawTensorData, encodeRawTensorData, encodeTensor, type DecodedTensor, type oip } from '@modelserve/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRepository } from './support/fixtures.js';
import { failure, startTestServer, unary, type TestServer } from './support/server.js';
import { maxAbsDiff, sampleValues } from './support/tensors.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ modelRepository: await fixtureRepository() });
});
afterAll(() => t.close());

type Client = oip.GRPCInferenceServiceClient;
/** A unary OIP call by method name, as a promise. */
function call<Res>(method: keyof Client & string, request: object): Promise<Res> {
  const fn = t.inference[method] as unknown as (req: object, cb: (e: unknown, r?: Res) => void) => void;
  return unary<Res>((cb) => fn.call(t.inference, request, cb as never));
}
const infer = (request: object) => call<oip.ModelInferResponse__Output>('ModelInfer', request);

/** A request input with raw contents: the tensor's description, and its bytes for raw_input_contents. */
function rawInput(tensor: DecodedTensor): { input: object; raw: Buffer } {
  return { input: { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape }, raw: encodeRawTensorData(tensor) };
}

/** A request with every input in raw form. */
function rawRequest(model: string, tensors: DecodedTensor[], extra: object = {}): object {
  const parts = tensors.map(rawInput);
  return { model_name: model, inputs: parts.map((p) => p.input), raw_input_contents: parts.map((p) => p.raw), ...extra };
}

/** The named output of a response, decoded from raw_output_contents. */
function output(response: oip.ModelInferResponse__Output, name: string): DecodedTensor {
  const i = response.outputs.findIndex((o) => o.name === name);
  if (i < 0) throw new Error(`no output '${name}'; outputs: ${response.outputs.map((o) => o.name).join(', ')}`);
  const o = response.outputs[i]!;
  const shape = o.shape.map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  return { name, datatype: o.datatype, shape, data: decodeRawTensorData(o.datatype as never, shape, count, response.raw_output_contents[i]!, name) } as DecodedTensor;
}

const fp32 = (name: string, shape: number[], data: ArrayLike<number>): DecodedTensor => ({ name, datatype: 'FP32', shape, data: Float32Array.from(data) });

describe('server and model state', () => {
  it('is live; not ready while a model that should serve has failed (strict readiness), ready once it is unloaded', async () => {
    expect(await call('ServerLive', {})).toEqual({ live: true });
    expect(await call('ServerReady', {})).toEqual({ ready: false }); // bf16 failed to load
    await call('RepositoryModelUnload', { model_name: 'bf16' });
    expect(await call('ServerReady', {})).toEqual({ ready: true });
    await failure(call('RepositoryModelLoad', { model_name: 'bf16' }));
  });

  it('describes the server and the extensions it implements', async () => {
    expect(await call('ServerMetadata', {})).toEqual({
      name: 'modelserve',
      version: '0.1.0',
      extensions: ['model_repository', 'model_configuration', 'schedule_policy', 'statistics'],
    });
  });

  it('answers ModelReady for models and versions, false for unknown ones', async () => {
    expect(await call('ModelReady', { name: 'mnist_mlp' })).toEqual({ ready: true });
    expect(await call('ModelReady', { name: 'mnist_mlp', version: '1' })).toEqual({ ready: true });
    expect(await call('ModelReady', { name: 'mnist_mlp', version: '9' })).toEqual({ ready: false });
    expect(await call('ModelReady', { name: 'nope' })).toEqual({ ready: false });
    expect(await call('ModelReady', { name: 'bf16' })).toEqual({ ready: false });
  });

  it('gives model metadata with -1 for variable dimensions, hiding inputs backed by initializers', async () => {
    expect(await call('ModelMetadata', { name: 'mnist_mlp' })).toEqual({
      name: 'mnist_mlp',
      versions: ['1', '2'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: ['-1', '784'] }],
      outputs: [{ name: 'output', datatype: 'FP32', shape: ['-1', '10'] }],
    });
    const withDefault = await call<oip.ModelMetadataResponse__Output>('ModelMetadata', { name: 'multi_io_default' });
    expect(withDefault.inputs.map((i) => i.name)).toEqual(['a', 'b']);
  });

  it('gives the model configuration in Triton terms (dims without the batch dimension)', async () => {
    const { config } = await call<oip.ModelConfigResponse__Output>('ModelConfig', { name: 'mnist_mlp' });
    expect(config).toMatchObject({
      name: 'mnist_mlp',
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      max_batch_size: 128,
      version_policy: { all: {} },
      input: [{ name: 'input', data_type: 'TYPE_FP32', dims: ['784'] }],
      output: [{ name: 'output', data_type: 'TYPE_FP32', dims: ['10'] }],
      default_model_filename: 'model.onnx',
    });
    expect(config!.instance_group[0]).toMatchObject({ kind: 'KIND_CPU' });
    expect(Number(config!.instance_group[0]!.count)).toBeGreaterThan(0);
  });

  it('lists the repository with states and onnxruntime’s reason for a model that cannot load', async () => {
    const { models } = await call<oip.RepositoryIndexResponse__Output>('RepositoryIndex', {});
    expect(models).toContainEqual({ name: 'mnist_mlp', version: '2', state: 'READY', reason: '' });
    const bf16 = models.find((m) => m.name === 'bf16')!;
    expect(bf16.state).toBe('UNAVAILABLE');
    expect(bf16.reason).toMatch(/Unsupported data type/);
    const ready = await call<oip.RepositoryIndexResponse__Output>('RepositoryIndex', { ready: true });
    expect(ready.models.every((m) => m.state === 'READY')).toBe(true);
    expect(ready.models.some((m) => m.name === 'bf16')).toBe(false);
  });
});

describe('ModelInfer', () => {
  it('answers mnist_mlp with raw contents as the reference evaluator does, echoing the id', async () => {
    const batch = 3;
    const x = sampleValues(batch * 784, 11);
    const response = await infer(rawRequest('mnist_mlp', [fp32('input', [batch, 784], x)], { id: 'oip-1', model_version: '1' }));
    expect(response).toMatchObject({ model_name: 'mnist_mlp', model_version: '1', id: 'oip-1' });
    expect(response.outputs).toEqual([{ name: 'output', datatype: 'FP32', shape: ['3', '10'], parameters: {}, contents: null }]);
    expect(maxAbsDiff(output(response, 'output').data as Float32Array, demoMlp(1).forward(x, batch))).toBeLessThan(1e-5);
  });

  it('accepts typed contents, answers in raw form, and uses the default version when none is named', async () => {
    const x = [0.5, -1, 2, 0.25];
    const response = await infer({
      model_name: 'tiny_mlp',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: x } }],
    });
    expect(response.model_version).toBe('1');
    expect(response.raw_output_contents).toHaveLength(1);
    expect(maxAbsDiff(output(response, 'output').data as Float32Array, demoTinyMlp().forward(Float32Array.from(x), 1))).toBeLessThan(1e-5);
  });

  it('returns only the outputs asked for, and ignores parameters it does not know', async () => {
    const response = await infer(
      rawRequest('multi_io', [fp32('a', [2], [1, 2]), { name: 'b', datatype: 'INT64', shape: [2], data: BigInt64Array.of(10n, 20n) }], {
        outputs: [{ name: 'sum' }],
        parameters: { binary_data_output: { bool_param: true }, custom: { string_param: 'x' } },
      }),
    );
    expect(response.outputs.map((o) => o.name)).toEqual(['sum']);
    expect([...(output(response, 'sum').data as Float32Array)]).toEqual([11, 22]);
  });

  it('fills inputs backed by initializers itself', async () => {
    const response = await infer(rawRequest('multi_io_default', [fp32('a', [1], [1]), { name: 'b', datatype: 'INT64', shape: [1], data: BigInt64Array.of(2n) }]));
    expect([...(output(response, 'sum').data as Float32Array)]).toEqual([3.5]);
  });

  it('round-trips every datatype, BYTES with 4-byte little-endian length prefixes, raw and typed', async () => {
    const text = (s: string) => new TextEncoder().encode(s);
    const tensors: DecodedTensor[] = [
      { name: 'in_bool', datatype: 'BOOL', shape: [2], data: Uint8Array.of(1, 0) },
      { name: 'in_uint8', datatype: 'UINT8', shape: [2], data: Uint8Array.of(0, 255) },
      { name: 'in_uint16', datatype: 'UINT16', shape: [2], data: Uint16Array.of(0, 65535) },
      { name: 'in_uint32', datatype: 'UINT32', shape: [2], data: Uint32Array.of(0, 4294967295) },
      { name: 'in_uint64', datatype: 'UINT64', shape: [2], data: BigUint64Array.of(0n, 2n ** 64n - 1n) },
      { name: 'in_int8', datatype: 'INT8', shape: [2], data: Int8Array.of(-128, 127) },
      { name: 'in_int16', datatype: 'INT16', shape: [2], data: Int16Array.of(-32768, 32767) },
      { name: 'in_int32', datatype: 'INT32', shape: [2], data: Int32Array.of(-(2 ** 31), 2 ** 31 - 1) },
      { name: 'in_int64', datatype: 'INT64', shape: [2], data: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n) },
      { name: 'in_float16', datatype: 'FP16', shape: [2], data: Uint16Array.of(0x3c00, 0x7bff) },
      { name: 'in_float32', datatype: 'FP32', shape: [2], data: Float32Array.of(-1.5, 1e-45) },
      { name: 'in_float64', datatype: 'FP64', shape: [2], data: Float64Array.of(Math.PI, 5e-324) },
      { name: 'in_string', datatype: 'BYTES', shape: [2], data: [text('héllo'), text('')] },
    ];
    const plain = (d: DecodedTensor) => (Array.isArray(d.data) ? d.data.map((b) => [...b]) : Array.from(d.data as ArrayLike<unknown>));
    const raw = await infer(rawRequest('datatypes', tensors));
    const typed = await infer({
      model_name: 'datatypes',
      inputs: tensors.map((x) => {
        const { name, datatype, shape, contents } = encodeTensor(x, 'typed');
        return { name, datatype, shape, contents };
      }),
    });
    for (const response of [raw, typed]) {
      for (const x of tensors) {
        const y = output(response, x.name.replace('in_', 'out_'));
        expect({ datatype: y.datatype, shape: y.shape, data: plain(y) }, x.name).toEqual({ datatype: x.datatype, shape: x.shape, data: plain(x) });
      }
    }
    // The BYTES output on the wire: [len LE u32]["héllo"][len 0].
    const i = raw.outputs.findIndex((o) => o.name === 'out_string');
    expect([...raw.raw_output_contents[i]!]).toEqual([6, 0, 0, 0, ...text('héllo'), 0, 0, 0, 0]);
  });

  it('serves rank 0, rank 7 and empty tensors', async () => {
    for (const shape of [[], [1, 2, 1, 2, 1, 2, 1], [2, 0, 3]]) {
      const count = shape.reduce((a, b) => a * b, 1);
      const data = Array.from({ length: count }, (_, k) => k + 0.5);
      const response = await infer(rawRequest('any_rank', [fp32('input', shape, data)]));
      const y = output(response, 'output');
      expect({ shape: y.shape, data: [...(y.data as Float32Array)] }).toEqual({ shape, data });
    }
  });
});

describe('ModelInfer errors', () => {
  const x = fp32('input', [1, 784], sampleValues(784, 3));
  const cases: Array<[string, object, status, string]> = [
    [
      'raw and typed contents for one tensor',
      { model_name: 'mnist_mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 784], contents: { fp32_contents: [...(x.data as Float32Array)] } }], raw_input_contents: [encodeRawTensorData(x)] },
      status.INVALID_ARGUMENT,
      "model 'mnist_mlp' input 'input': both typed contents (fp32_contents) and raw contents (3136 bytes) are set, expected one of them",
    ],
    [
      'fewer raw_input_contents than inputs',
      { model_name: 'multi_io', inputs: [{ name: 'a', datatype: 'FP32', shape: [1] }, { name: 'b', datatype: 'INT64', shape: [1] }], raw_input_contents: [Buffer.alloc(4)] },
      status.INVALID_ARGUMENT,
      "model 'multi_io': raw_input_contents has 1 entries, expected 2 (one per input, in the order of inputs)",
    ],
    ['an unknown model', rawRequest('nope', [x]), status.NOT_FOUND, "model 'nope' is not in the repository; models: any_rank, any_rank_int64, bf16, datatypes, mnist_cnn, mnist_mlp, multi_io, multi_io_default, tiny_mlp"],
    [
      'a priority of the wrong type',
      rawRequest('mnist_mlp', [x], { parameters: { priority: { string_param: 'high' } } }),
      status.INVALID_ARGUMENT,
      "model 'mnist_mlp': parameter 'priority' must be an int64_param or uint64_param, got string_param",
    ],
    [
      'a priority out of range',
      rawRequest('mnist_mlp', [x], { parameters: { priority: { int64_param: 5 } } }),
      status.INVALID_ARGUMENT,
      "model 'mnist_mlp' version 2: priority 5 is out of range: expected 1 (highest) to 1, or 0 for the default",
    ],
  ];
  for (const [what, request, code, details] of cases) {
    it(`answers ${what} with ${status[code]}`, async () => {
      const error = await failure(infer(request));
      expect({ code: error.code, details: error.details }).toEqual({ code, details });
    });
  }

  it('answers UNIMPLEMENTED for what modelserve does not do', async () => {
    const error = await failure(call('SystemSharedMemoryStatus', {}));
    expect({ code: error.code, details: error.details }).toEqual({ code: status.UNIMPLEMENTED, details: 'modelserve does not implement system shared memory' });
  });
});

describe('ModelStreamInfer', () => {
  it('answers every request once, a bad one in-band with its id, and goes on', async () => {
    const stream: ClientDuplexStream<object, oip.ModelStreamInferResponse__Output> = t.inference.ModelStreamInfer();
    const answers: oip.ModelStreamInferResponse__Output[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (r: oip.ModelStreamInferResponse__Output) => answers.push(r));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    const n = 200;
    for (let i = 0; i < n; i++) {
      const values = i === 77 ? [1, 2, 3] : [i, 1, 2, 3];
      stream.write({ model_name: 'tiny_mlp', id: `s${i}`, inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: values } }] });
    }
    stream.end();
    await done;
    expect(answers.map((a) => a.infer_response!.id).sort()).toEqual(Array.from({ length: n }, (_, i) => `s${i}`).sort());
    const bad = answers.filter((a) => a.error_message !== '');
    expect(bad.map((a) => [a.infer_response!.id, a.error_message])).toEqual([
      ['s77', "model 'tiny_mlp' input 'input': fp32_contents holds 3 values, expected 4 (FP32 elements for shape [1,4])"],
    ]);
    const ok = answers.find((a) => a.infer_response!.id === 's5')!;
    expect(maxAbsDiff(output(ok.infer_response!, 'output').data as Float32Array, demoTinyMlp().forward(Float32Array.of(5, 1, 2, 3), 1))).toBeLessThan(1e-5);
  });
});

describe('repository and statistics', () => {
  it('counts what was sent in ModelStatistics', async () => {
    const before = (await call<oip.ModelStatisticsResponse__Output>('ModelStatistics', { name: 'mnist_cnn' })).model_stats[0]!;
    const x = fp32('input', [2, 1, 28, 28], sampleValues(2 * 784, 5));
    await Promise.all(Array.from({ length: 10 }, () => infer(rawRequest('mnist_cnn', [x]))));
    await failure(infer(rawRequest('mnist_cnn', [fp32('input', [1, 1, 28, 27], sampleValues(756))])));
    const after = (await call<oip.ModelStatisticsResponse__Output>('ModelStatistics', { name: 'mnist_cnn' })).model_stats[0]!;
    const delta = (f: (s: oip.ModelStatistics__Output) => string | undefined) => Number(f(after)) - Number(f(before));
    expect(after).toMatchObject({ name: 'mnist_cnn', version: '1' });
    expect(delta((s) => s.inference_stats!.success!.count)).toBe(10);
    expect(delta((s) => s.inference_count)).toBe(20);
    expect(delta((s) => s.execution_count)).toBeGreaterThanOrEqual(1);
    expect(delta((s) => s.execution_count)).toBeLessThanOrEqual(10);
    expect(delta((s) => s.inference_stats!.success!.ns)).toBeGreaterThan(0);
    expect(delta((s) => s.inference_stats!.compute_infer!.ns)).toBeGreaterThan(0);
    expect(Number(after.last_inference)).toBeGreaterThan(Date.now() - 60_000);
    const sizes = after.batch_stats.reduce((sum, b) => sum + Number(b.batch_size) * Number(b.compute_infer!.count), 0);
    expect(sizes).toBe(Number(after.inference_count));
  });

  it('unloads and loads a model through the repository RPCs', async () => {
    await call('RepositoryModelUnload', { model_name: 'tiny_mlp' });
    expect(await call('ModelReady', { name: 'tiny_mlp' })).toEqual({ ready: false });
    const request = { model_name: 'tiny_mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }] };
    expect((await failure(infer(request))).code).toBe(status.UNAVAILABLE);
    await call('RepositoryModelLoad', { model_name: 'tiny_mlp' });
    expect(await call('ModelReady', { name: 'tiny_mlp' })).toEqual({ ready: true });
    expect((await infer(request)).outputs).toHaveLength(1);
  });

  it('refuses loads it cannot do: unknown models, model files in parameters', async () => {
    expect((await failure(call('RepositoryModelLoad', { model_name: 'nope' }))).code).toBe(status.NOT_FOUND);
    const error = await failure(call('RepositoryModelLoad', { model_name: 'tiny_mlp', parameters: { config: { string_param: '{}' } } }));
    expect({ code: error.code, details: error.details }).toEqual({
      code: status.UNIMPLEMENTED,
      details: "model 'tiny_mlp': load parameters 'config' are not supported: modelserve loads models from its repository on disk",
    });
  });
});
