/**
 * The README's grpcurl lines, run as written (address aside) through an emulator that, like
 * grpcurl, knows nothing but what server reflection tells it. If reflection breaks, or a README
 * example drifts from the API (a renamed field, a wrong type, a missing -plaintext), this fails.
 */
import { execFileSync } from 'node:child_process';
import { Server, ServerCredentials, status, type ServiceDefinition } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { bundledRepository } from '@modelserve/cli';
import { demoMlp, demoTinyMlp, type GeneratedModel } from '@modelserve/model-zoo';
import { loadPackageDefinition } from '@modelserve/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describe as describeSymbol, grpcurlPort, invoke, list, readmeGrpcurlLines, Reflection, run, type InvokeResult, type RunResult } from '../support/grpcurl.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { parseJsonStream } from './protojson.js';

// The lines addressed to the server (8001); those to `modelserve cluster`'s supervisor (8000) run in ../cluster.test.ts.
const allLines = readmeGrpcurlLines();
const lines = allLines.filter((line) => grpcurlPort(line) === 8001);
let t: TestServer;
const results = new Map<string, RunResult>();

beforeAll(async () => {
  t = await startTestServer({ modelRepository: bundledRepository });
  // Sequentially, as a reader would type them; a line that throws fails here with its text.
  for (const line of lines) {
    results.set(line, await run(line, t.server.address).catch((error: Error) => Promise.reject(new Error(`${line}\n  ${error.message}`))));
  }
});
afterAll(() => t?.close());

/** The single README line matching `pattern` and its result (fails if the README lost or doubled it). */
function readmeLine(pattern: RegExp): { line: string; result: RunResult } {
  const matching = lines.filter((l) => pattern.test(l));
  expect(matching, `README grpcurl lines matching ${pattern}`).toHaveLength(1);
  return { line: matching[0]!, result: results.get(matching[0]!)! };
}
function invoked(result: RunResult): InvokeResult {
  if (result.command !== 'invoke') throw new Error(`expected a method call, got ${result.command}`);
  expect(result.result.error).toBeUndefined();
  return result.result;
}

/** Tensors, requests and responses as JSON (as written in the README, as the emulator prints them). */
interface TensorJson { name: string; datatype: string; shape: Array<string | number>; contents?: { fp32_contents?: number[] }; raw_contents?: string }
interface PredictJson { id?: string; model_name: string; model_version?: string; inputs: TensorJson[] }
interface PredictResponseJson { model_name: string; outputs: TensorJson[] }

/** The request data a line sends, read independently of the emulator's shell parsing. */
function requestsOf(line: string): PredictJson[] {
  const script = /^node -e '([^']*)' \| /.exec(line)?.[1];
  const data = script !== undefined ? execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }) : /-d '([^']*)'/.exec(line)?.[1];
  if (data === undefined) throw new Error(`no request data in ${line}`);
  return parseJsonStream(data) as PredictJson[];
}

/** The reference evaluator of the model and version a demo request names (mnist_mlp defaults to 2). */
function reference(request: PredictJson): { model: GeneratedModel; outputs: number } {
  if (request.model_name === 'tiny_mlp') return { model: demoTinyMlp(), outputs: 3 };
  if (request.model_name === 'mnist_mlp') return { model: demoMlp(request.model_version === '1' ? 1 : 2), outputs: 10 };
  throw new Error(`no reference evaluator for ${request.model_name}`);
}

/** Asserts a PredictResponse (as JSON) holds what the reference evaluator computes for `request`. */
function expectPrediction(json: unknown, request: PredictJson): void {
  const response = json as PredictResponseJson;
  const input = request.inputs[0]!;
  const batch = Number(input.shape[0]);
  const { model, outputs } = reference(request);
  const expected = model.forward(Float32Array.from(input.contents?.fp32_contents ?? []), batch);
  expect(response).toMatchObject({ model_name: request.model_name });
  expect(response.outputs).toHaveLength(1);
  const output = response.outputs[0]!;
  // Typed in, typed out: the readable form grpcurl users get back.
  expect(output).toMatchObject({ name: 'output', datatype: 'FP32', shape: [String(batch), String(outputs)] });
  expect(output.raw_contents).toBeUndefined();
  const got = output.contents?.fp32_contents ?? [];
  expect(got).toHaveLength(expected.length);
  got.forEach((value, i) => expect(Math.abs(value - expected[i]!)).toBeLessThan(1e-5));
}

describe('README grpcurl examples', () => {
  it('address the server (8001) or the cluster supervisor (8000), so each runs in a test', () => {
    expect(allLines.filter((line) => grpcurlPort(line) !== 8001 && grpcurlPort(line) !== 8000)).toEqual([]);
  });

  it('are there to test', () => {
    expect(lines.length).toBeGreaterThanOrEqual(6);
    for (const line of lines) expect(line).toMatch(/ localhost:8001 /); // the port `pnpm serve` uses
  });

  it('list the services', () => {
    const { result } = readmeLine(/ list$/);
    if (result.command !== 'list') throw new Error(result.command);
    // Every service the port answers is listed, reflection itself included, as grpc-go servers do.
    expect(result.services).toEqual([
      'grpc.health.v1.Health',
      'grpc.reflection.v1.ServerReflection',
      'grpc.reflection.v1alpha.ServerReflection',
      'inference.GRPCInferenceService',
      'modelserve.v1.Jobs',
      'modelserve.v1.ModelAdmin',
      'modelserve.v1.Predictor',
    ]);
  });

  it('describe the Predictor with both methods', () => {
    const { result } = readmeLine(/describe modelserve\.v1\.Predictor$/);
    if (result.command !== 'describe' || result.description.kind !== 'service') throw new Error('not a service description');
    expect(result.description.methods).toEqual([
      { name: 'Predict', requestType: 'modelserve.v1.PredictRequest', responseType: 'modelserve.v1.PredictResponse', clientStreaming: false, serverStreaming: false },
      { name: 'PredictStream', requestType: 'modelserve.v1.PredictRequest', responseType: 'modelserve.v1.PredictStreamResponse', clientStreaming: true, serverStreaming: true },
    ]);
    expect(result.description.text).toContain('rpc PredictStream ( stream .modelserve.v1.PredictRequest ) returns ( stream .modelserve.v1.PredictStreamResponse );');
  });

  it('get the tiny_mlp metadata', () => {
    const [response] = invoked(readmeLine(/GetModelMetadata/).result).responses;
    expect(response).toMatchObject({ name: 'tiny_mlp', version: '1', max_batch_size: 8 });
    expect(response!.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: ['-1', '4'] }]);
  });

  it('predict what the reference evaluators compute, unary and piped', () => {
    const predicts = lines.filter((l) => l.endsWith('modelserve.v1.Predictor/Predict'));
    expect(predicts.length).toBeGreaterThanOrEqual(2);
    expect(predicts.some((l) => l.includes('| grpcurl ') && l.includes('-d @'))).toBe(true);
    for (const line of predicts) {
      const [request] = requestsOf(line);
      const { responses } = invoked(results.get(line)!);
      expect(responses).toHaveLength(1);
      expectPrediction(responses[0]!, request!);
    }
  });

  it('stream two requests and get both answers, by id', () => {
    const { line, result } = readmeLine(/PredictStream$/);
    const requests = requestsOf(line);
    expect(requests.map((r) => r.id)).toEqual(['a', 'b']);
    const { responses } = invoked(result);
    expect(responses.map((r) => r.id).sort()).toEqual(['a', 'b']);
    for (const response of responses) {
      expect(response.error).toBeUndefined();
      expectPrediction(response.response, requests.find((r) => r.id === response.id)!);
    }
  });

  it('infer with the Open Inference Protocol, typed contents in, raw contents out', () => {
    const { line, result } = readmeLine(/GRPCInferenceService\/ModelInfer$/);
    const [request] = requestsOf(line);
    const { responses } = invoked(result);
    expect(responses).toHaveLength(1);
    const response = responses[0] as { id: string; model_name: string; outputs: TensorJson[]; raw_output_contents: string[] };
    expect(response).toMatchObject({ id: 'oip-1', model_name: 'tiny_mlp', model_version: '1' });
    expect(response.outputs).toEqual([{ name: 'output', datatype: 'FP32', shape: ['1', '3'] }]);
    const bytes = Buffer.from(response.raw_output_contents[0]!, 'base64');
    const got = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const expected = demoTinyMlp().forward(Float32Array.from(request!.inputs[0]!.contents!.fp32_contents!), 1);
    expect(got).toHaveLength(expected.length);
    got.forEach((value, i) => expect(Math.abs(value - expected[i]!)).toBeLessThan(1e-5));
  });

  it('get the Open Inference Protocol model metadata', () => {
    const { responses } = invoked(readmeLine(/GRPCInferenceService\/ModelMetadata$/).result);
    expect(responses).toEqual([
      {
        name: 'tiny_mlp',
        versions: ['1'],
        platform: 'onnxruntime_onnx',
        inputs: [{ name: 'input', datatype: 'FP32', shape: ['-1', '4'] }],
        outputs: [{ name: 'output', datatype: 'FP32', shape: ['-1', '3'] }],
      },
    ]);
  });

  it('check a model is SERVING', () => {
    expect(invoked(readmeLine(/grpc\.health\.v1\.Health\/Check$/).result).responses).toEqual([{ status: 'SERVING' }]);
  });
});

describe('the emulator, as grpcurl', () => {
  it('describes a message from reflection alone', async () => {
    const description = await describeSymbol(t.server.address, 'modelserve.v1.Tensor');
    if (description.kind !== 'message') throw new Error(description.kind);
    expect(description.fields).toEqual(
      expect.arrayContaining([
        { name: 'shape', number: 3, type: 'int64', repeated: true },
        { name: 'contents', number: 5, type: '.modelserve.v1.TensorContents', repeated: false },
        { name: 'raw_contents', number: 6, type: 'bytes', repeated: false },
      ]),
    );
  });

  const tinyRequest = { model_name: 'tiny_mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [5.1, 3.5, 1.4, 0.2] } }] };

  it('takes lowerCamelCase names and int64 as strings, as protojson does', async () => {
    const data = JSON.stringify({ modelName: 'tiny_mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: ['1', '4'], contents: { fp32Contents: [5.1, 3.5, 1.4, 0.2] } }] });
    const { responses, error } = await invoke(t.server.address, 'modelserve.v1.Predictor/Predict', data);
    expect(error).toBeUndefined();
    expectPrediction(responses[0]!, tinyRequest);
  });

  it('refuses what grpcurl refuses: unknown fields, wrong JSON types, no -plaintext', async () => {
    const address = t.server.address;
    await expect(invoke(address, 'modelserve.v1.Predictor/Predict', '{"model": "tiny_mlp"}')).rejects.toThrow(/no known field named model/);
    await expect(invoke(address, 'modelserve.v1.ModelAdmin/GetModelMetadata', '{"name": "tiny_mlp", "version": 1}')).rejects.toThrow(/bad value for string/);
    await expect(invoke(address, 'modelserve.v1.ModelAdmin/GetModelMetadata', '{"name": "a"} {"name": "b"}')).rejects.toThrow(/unary RPC/);
    await expect(run('grpcurl localhost:8001 list', address)).rejects.toThrow(/-plaintext/);
  });

  it('returns the status of a failed call', async () => {
    const { responses, error } = await invoke(t.server.address, 'modelserve.v1.Predictor/Predict', JSON.stringify({ ...tinyRequest, model_name: 'nope' }));
    expect(responses).toEqual([]);
    expect(error).toMatchObject({ code: status.NOT_FOUND, name: 'NOT_FOUND' });
    expect(error!.details).toContain('nope');
  });

  it('speaks grpc.reflection.v1alpha when asked to', async () => {
    const address = t.server.address;
    expect(await list(address, ['v1alpha'])).toEqual(await list(address, ['v1']));
    const predictor = await describeSymbol(address, 'modelserve.v1.Predictor', ['v1alpha']);
    expect(predictor.kind === 'service' && predictor.methods.map((m) => m.name)).toEqual(['Predict', 'PredictStream']);
    const { responses } = await invoke(address, 'modelserve.v1.ModelAdmin/GetModelMetadata', '{"name": "tiny_mlp"}', ['v1alpha']);
    expect(responses[0]).toMatchObject({ name: 'tiny_mlp', inputs: [{ shape: ['-1', '4'] }] });
  });

  it('falls back to v1alpha when a server has only that, as grpcurl does', async () => {
    // A server whose reflection offers v1alpha alone (older servers do): v1 answers UNIMPLEMENTED.
    const server = new Server();
    new ReflectionService(loadPackageDefinition()).addToServer({
      addService: (service: ServiceDefinition, implementation) => {
        if (!Object.values(service).some((m) => m.path.startsWith('/grpc.reflection.v1.'))) server.addService(service, implementation);
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const address = `127.0.0.1:${port}`;
    try {
      await expect(list(address, ['v1'])).rejects.toMatchObject({ code: status.UNIMPLEMENTED });
      const reflection = new Reflection(address);
      try {
        expect(await reflection.listServices()).toEqual(['inference.GRPCInferenceService', 'modelserve.v1.Cluster', 'modelserve.v1.Jobs', 'modelserve.v1.ModelAdmin', 'modelserve.v1.Predictor']);
        expect(reflection.version).toBe('v1alpha');
      } finally {
        reflection.close();
      }
      const request = await describeSymbol(address, 'modelserve.v1.PredictRequest');
      expect(request.kind === 'message' && request.fields.map((f) => f.name)).toContain('model_name');
      // Types known through v1alpha alone are enough to call; this server has no Predictor, so a status comes back.
      const { responses, error } = await invoke(address, 'modelserve.v1.Predictor/PredictStream', '{"id": "a"}');
      expect({ responses, code: error?.code }).toEqual({ responses: [], code: status.UNIMPLEMENTED });
    } finally {
      server.forceShutdown();
    }
  });
});
