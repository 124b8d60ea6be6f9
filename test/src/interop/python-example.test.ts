// Runs examples/python/client.py, the standalone Python example users run against their server,
// as they run it (Debian's python3-grpcio, its stubs generated on first use), against a real
// server on the demo repository, and checks what it prints against the TypeScript client's answers.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundledRepository } from '@modelserve/cli';
import { createClient, type ModelServeClient } from '@modelserve/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { INTEROP, missingPrerequisites, PYTHON, run } from './python-suite.js';

const EXAMPLE = path.resolve(INTEROP, '../../examples/python/client.py');
const INPUT = [5.1, 3.5, 1.4, 0.2];

let t: TestServer;
let sdk: ModelServeClient;
let work: string;
let stubs: string;
/** The example's first run: tiny_mlp with INPUT, generating its stubs. */
let first: Awaited<ReturnType<typeof run>>;

/** `  NAME DATATYPE [shape]: [values]` lines of a section of the example's output, by their label. */
function tensorLines(stdout: string, kind: 'input' | 'output'): Map<string, { datatype: string; shape: number[]; values: unknown[] }> {
  const found = new Map<string, { datatype: string; shape: number[]; values: unknown[] }>();
  for (const match of stdout.matchAll(new RegExp(`^  ${kind} (\\S+) (\\S+) (\\[[^\\]]*\\]): (\\[.*\\])$`, 'gm'))) {
    found.set(match[1]!, { datatype: match[2]!, shape: JSON.parse(match[3]!) as number[], values: JSON.parse(match[4]!) as unknown[] });
  }
  return found;
}

const example = (...args: string[]) => run(PYTHON, [EXAMPLE, '--address', t.server.address, '--stubs', stubs, ...args], 120_000);

beforeAll(async () => {
  const missing = await missingPrerequisites();
  if (missing !== undefined) throw new Error(missing);
  work = await mkdtemp(path.join(tmpdir(), 'modelserve-python-example-'));
  // Not there yet: the example generates its stubs on first use.
  stubs = path.join(work, 'stubs');
  t = await startTestServer({ modelRepository: bundledRepository });
  sdk = createClient({ endpoints: t.server.address });
  first = await example('--model', 'tiny_mlp', '--input', `input=${JSON.stringify([INPUT])}`);
  if (first.code !== 0) throw new Error(`client.py exited ${first.code}: ${first.stderr}\n${first.stdout}`);
});

afterAll(async () => {
  await sdk?.close();
  await t?.close();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe('examples/python/client.py (python3-grpcio, stubs generated on first use)', () => {
  it('generates its stubs, then checks health and lists the models as the TypeScript client sees them', async () => {
    expect(first.stderr).toBe(`generating the stubs into ${stubs} (test/interop/gen_stubs.sh)\n`);
    expect(first.stdout).toContain('health: SERVING (grpc.health.v1 Health/Check)\n');
    expect(first.stdout).toContain('health tiny_mlp: SERVING\n');
    const models = await sdk.models();
    const width = Math.max(...models.map((m) => m.name.length));
    const listed = models.map(
      (m) => `  ${m.name.padEnd(width)}  ${m.versions.map((v) => `${v.version} ${v.state}${v.version === m.defaultVersion ? ' (default)' : ''}`).join(', ')}`,
    );
    expect(first.stdout).toContain(`models (modelserve.v1 ModelAdmin/ListModels):\n${listed.join('\n')}\n`);
    expect(listed).toContain('  mnist_mlp  1 READY, 2 READY (default)');
  });

  it("reads the model's metadata with ModelMetadata", () => {
    expect(first.stdout).toContain(
      'model tiny_mlp (inference.GRPCInferenceService/ModelMetadata): versions 1, platform onnxruntime_onnx\n  input input FP32 [-1, 4]\n  output output FP32 [-1, 3]\n',
    );
  });

  it('infers with raw_input_contents and gets what the TypeScript client gets for the same input', async () => {
    expect(first.stdout).toContain('infer (inference.GRPCInferenceService/ModelInfer, raw_input_contents): answered by version 1, id example\n');
    expect(tensorLines(first.stdout, 'input').get('input')).toEqual({ datatype: 'FP32', shape: [1, 4], values: INPUT });
    const printed = tensorLines(first.stdout, 'output').get('output');
    const { outputs } = await sdk.predict('tiny_mlp', { input: { data: INPUT, shape: [1, 4] } });
    expect(printed).toMatchObject({ datatype: 'FP32', shape: [1, 3] });
    // Printed to 7 significant digits.
    const want = [...(outputs['output']!.data as Float32Array)];
    expect(printed!.values).toHaveLength(want.length);
    printed!.values.forEach((v, i) => expect(v as number).toBeCloseTo(want[i]!, 6));
  });

  it('streams with PredictStream: every request answered once, by id, with the unary answer', () => {
    const unary = first.stdout.match(/^ {2}output output FP32 \[1, 3\]: (\[.*\])$/m)![1];
    const answers = [...first.stdout.matchAll(/^ {2}(stream-\d+): version 1, output FP32 \[1, 3\]: (\[.*\])$/gm)];
    expect(answers.map((a) => a[1]).sort()).toEqual(['stream-0', 'stream-1', 'stream-2', 'stream-3']);
    for (const answer of answers) expect(answer[2]).toBe(unary);
    expect(first.stdout).toContain('stream (modelserve.v1 Predictor/PredictStream): 4 requests, the same inputs\n');
    expect(first.stdout).toMatch(/ {2}4 of 4 answered\n$/);
  });

  it('picks the first ready model when given none, and sends and reads every datatype it serves', async () => {
    const result = await example();
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    // The demo's first model, `datatypes`, answers each input unchanged on the output of the same suffix.
    expect(result.stdout).toContain('model datatypes (inference.GRPCInferenceService/ModelMetadata)');
    const inputs = tensorLines(result.stdout, 'input');
    const outputs = tensorLines(result.stdout, 'output');
    const metadata = await sdk.metadata('datatypes');
    expect([...inputs.keys()]).toEqual(metadata.inputs.map((i) => i.name));
    for (const [name, input] of inputs) expect(outputs.get(name.replace(/^in_/, 'out_')), name).toEqual(input);
    expect(result.stdout).toMatch(/ {2}4 of 4 answered\n$/);
  });

  it('says in one line that it cannot connect, and exits 1', async () => {
    const probe = createServer();
    const port = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)));
    await new Promise((resolve) => probe.close(resolve));
    const result = await run(PYTHON, [EXAMPLE, '--address', `127.0.0.1:${port}`, '--stubs', stubs]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^client\.py: UNAVAILABLE: [^\n]*\n$/);
  });
});
