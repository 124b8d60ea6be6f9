/**
 * Input values a datatype cannot hold exactly are refused before anything is sent: by the CLI (its
 * real binary) and by the SDK, against a real server whose statistics show no request arrived. And
 * the server refuses such values itself in typed contents.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { status } from '@grpc/grpc-js';
import { createClient, ModelServeError, type ModelServeClient, type StreamResult } from '@modelserve/client';
import { writeDemoRepository } from '@modelserve/model-zoo';
import type { GetModelStatisticsResponse__Output, oip, PredictResponse__Output } from '@modelserve/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, startTestServer, unary, type TestServer } from './support/server.js';

const run = promisify(execFile);
const cli = path.join(path.dirname(createRequire(import.meta.url).resolve('@modelserve/cli')), 'cli.js');

let t: TestServer;
let repository: string;
let client: ModelServeClient;
beforeAll(async () => {
  repository = await mkdtemp(path.join(tmpdir(), 'modelserve-strict-'));
  await writeDemoRepository(repository);
  t = await startTestServer({ modelRepository: repository });
  client = createClient({ endpoints: t.server.address });
});
afterAll(async () => {
  await client.close();
  await t.close();
  await rm(repository, { recursive: true, force: true });
});

// Each CLI run loads node, grpc-js and the protos: seconds apiece on a busy machine. A limit for a hung test.
const spawnsTimeoutMs = 120_000;

/** The CLI's exit code, stdout and stderr. */
async function modelserve(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args, '--address', t.server.address]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Requests a model's versions have answered, successfully or not. */
async function requestsTo(model: string): Promise<number> {
  const response = await unary<GetModelStatisticsResponse__Output>((cb) => t.admin.GetModelStatistics({ name: model, version: '' }, cb));
  return response.versions.reduce((n, v) => n + Number(v.request_count) + Number(v.failure_count), 0);
}

describe('the CLI refuses values its datatype cannot hold, before sending', () => {
  it(
    'a string, a nesting too deep or an INT8 of 300: exit 1, the input, element and range named, no request',
    async () => {
      const before = { tiny: await requestsTo('tiny_mlp'), datatypes: await requestsTo('datatypes') };
      expect(await modelserve('infer', 'tiny_mlp', '--input', 'input=[[1,2,3,"x"]]')).toEqual({
        code: 1,
        stdout: '',
        stderr: `modelserve: input 'input': element 3 is "x", expected a number in FP32 range (±3.4028235e38)\n`,
      });
      expect(await modelserve('infer', 'tiny_mlp', '--input', 'input=[[[1,2,3,4]]]')).toEqual({
        code: 1,
        stdout: '',
        stderr: "modelserve: input 'input': expected 2 levels of nesting for shape [-1,4], got 3 at element 0\n",
      });
      expect(await modelserve('infer', 'datatypes', '--input', 'in_int8=[1,300]')).toEqual({
        code: 1,
        stdout: '',
        stderr: "modelserve: input 'in_int8': element 1 is 300, expected an integer from -128 to 127 (INT8)\n",
      });
      expect({ tiny: await requestsTo('tiny_mlp'), datatypes: await requestsTo('datatypes') }).toEqual(before);
    },
    spawnsTimeoutMs,
  );

  it(
    'takes back the 64-bit values it prints as strings, exactly (and the statistics see that request)',
    async () => {
      const before = await requestsTo('datatypes');
      const { code, stdout } = await modelserve(
        'infer', 'datatypes',
        '--input', 'in_int64=["-9223372036854775808"]', '--input', 'in_uint64=["18446744073709551615"]', '--input', 'in_bool=[true]',
        '--output', 'out_int64', '--output', 'out_uint64', '--output', 'out_bool',
      );
      expect(code).toBe(0);
      const outputs = (JSON.parse(stdout) as { outputs: Array<{ name: string; data: unknown[] }> }).outputs;
      expect(Object.fromEntries(outputs.map((o) => [o.name, o.data]))).toEqual({
        out_int64: ['-9223372036854775808'],
        out_uint64: ['18446744073709551615'],
        out_bool: [true],
      });
      expect(await requestsTo('datatypes')).toBe(before + 1);
    },
    spawnsTimeoutMs,
  );
});

describe('the SDK refuses values its datatype cannot hold, before sending', () => {
  it('predict fails with INVALID_ARGUMENT naming the input, element and range, reaching no endpoint', async () => {
    const before = { tiny: await requestsTo('tiny_mlp'), datatypes: await requestsTo('datatypes') };
    const refused = (promise: Promise<unknown>) => promise.then(() => expect.fail('expected a refusal'), (error: unknown) => error);
    const cases: Array<[Promise<unknown>, string]> = [
      [client.predict('tiny_mlp', { input: { data: [1, 2, 3, 'x'] as never, shape: [1, 4] } }), `input 'input': element 3 is "x", expected a number in FP32 range (±3.4028235e38)`],
      [client.predict('tiny_mlp', { input: { data: [1, 2, 3, 1e40], shape: [1, 4] } }), "input 'input': element 3 is 1e+40, expected a number in FP32 range (±3.4028235e38)"],
      [client.predict('datatypes', { in_int8: { data: Int32Array.of(300), datatype: 'INT8' } }), "input 'in_int8': element 0 is 300, expected an integer from -128 to 127 (INT8)"],
      [client.predict('datatypes', { in_uint8: { data: [-1], datatype: 'UINT8' } }), "input 'in_uint8': element 0 is -1, expected an integer from 0 to 255 (UINT8)"],
      [client.predict('datatypes', { in_float16: { data: [70000], datatype: 'FP16' } }), "input 'in_float16': element 0 is 70000, expected a number in FP16 range (±65504)"],
    ];
    for (const [call, details] of cases) {
      const error = await refused(call);
      expect(error).toBeInstanceOf(ModelServeError);
      expect(error).toMatchObject({ code: status.INVALID_ARGUMENT, errorCode: 'InvalidArgument', details, endpoint: undefined });
    }
    expect({ tiny: await requestsTo('tiny_mlp'), datatypes: await requestsTo('datatypes') }).toEqual(before);
    // The statistics do see a request that is sent.
    await client.predict('tiny_mlp', { input: { data: [5.1, 3.5, 1.4, 0.2], shape: [1, 4] } });
    expect(await requestsTo('tiny_mlp')).toBe(before.tiny + 1);
  });

  it('predictStream answers a bad request in-band and sends only the good one', async () => {
    const before = await requestsTo('tiny_mlp');
    const results: StreamResult[] = [];
    const requests = [
      { id: 'bad', inputs: { input: { data: [1, 2, 3, null] as never, shape: [1, 4] } } },
      { id: 'good', inputs: { input: { data: [1, 2, 3, 4], shape: [1, 4] } } },
    ];
    for await (const result of client.predictStream('tiny_mlp', requests)) results.push(result);
    const bad = results.find((r) => r.id === 'bad');
    expect(bad).toMatchObject({ ok: false, error: { errorCode: 'InvalidArgument', details: "input 'input': element 3 is null, expected a number in FP32 range (±3.4028235e38)" } });
    expect(results.find((r) => r.id === 'good')).toMatchObject({ ok: true });
    expect(await requestsTo('tiny_mlp')).toBe(before + 1);
  });
});

describe('the server refuses typed contents its datatype cannot hold', () => {
  it('OIP int_contents of 300 for an INT8 input → INVALID_ARGUMENT', async () => {
    const request: oip.ModelInferRequest = { model_name: 'datatypes', inputs: [{ name: 'in_int8', datatype: 'INT8', shape: ['1'], contents: { int_contents: [300] } }] };
    const error = await failure(unary<oip.ModelInferResponse__Output>((cb) => t.inference.ModelInfer(request, cb)));
    expect(error).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: "model 'datatypes' input 'in_int8': int_contents[0] is 300, out of range for INT8 (expected an integer from -128 to 127)",
    });
  });

  it('fp32_contents of 70000 for an FP16 input → INVALID_ARGUMENT, not Infinity', async () => {
    const request = { model_name: 'datatypes', inputs: [{ name: 'in_float16', datatype: 'FP16', shape: [1], contents: { fp32_contents: [70000] } }] };
    const error = await failure(unary<PredictResponse__Output>((cb) => t.predictor.Predict(request, cb)));
    expect(error).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: "model 'datatypes' input 'in_float16': fp32_contents[0] is 70000, out of range for FP16 (expected a number from -65504 to 65504, ±Infinity or NaN)",
    });
  });
});
