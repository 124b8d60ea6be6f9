// gRPC transport conformance against a foreign implementation: test/interop/conformance.py
// (Python grpcio, plus python3-h2 for raw HTTP/2 frames) runs every case against a server that
// answers the inference methods directly (direct-calls.ts) and one that leaves them to grpc-js. Each
// path must pass every case, and report the same facts (codes, headers, counts) as the other, but
// for the one difference listed in `pathDependent`.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/server.js';
import { conformanceBackend, conformanceRepository } from './conformance-server.js';
import { lcgCheck } from './interop-cases.js';
import { generateStubs, INTEROP, missingPrerequisites, PYTHON, run, type Check } from './python-suite.js';

/** Every case conformance.py runs, in its order. */
const CASES = [
  'grpc_timeout_each_unit',
  'grpc_timeout_huge_values',
  'grpc_timeout_past_int32_ms',
  'grpc_timeout_tiny_values',
  'deadline_while_queued',
  'deadline_while_running',
  'cancel_before_request_sent',
  'cancel_while_queued',
  'cancel_while_running',
  'cancel_stream_midway',
  'binary_metadata',
  'gzip_request_compression',
  'max_receive_size',
  'max_send_size',
  'trailers_only_errors',
  'malformed_bytes_invalid_argument',
  'large_message_round_trip',
  'stream_of_many_messages',
  'keepalive_pings',
  'goaway_max_connection_age',
  'server_settled',
];

/**
 * The cases whose facts differ by path, with each path's: a grpc-timeout past 2^31 ms wraps to a
 * negative number in grpc-js 1.14.7 (`| 0`), so grpc-js expires the call at once; the direct path
 * reads it as it is and answers OK.
 */
const pathDependent: Record<string, { direct: unknown; grpcJs: unknown }> = {
  grpc_timeout_past_int32_ms: {
    direct: pastInt32Facts('direct', 0),
    grpcJs: pastInt32Facts('grpc-js', 4),
  },
};

function pastInt32Facts(path: string, status: number): Record<string, unknown> {
  return {
    path,
    '/modelserve.v1.Predictor/Predict 99999999M': status,
    '/inference.GRPCInferenceService/ModelInfer 99999999M': status,
    'grpcio Predict 25 days': status,
    'grpcio ModelInfer 25 days': status,
    'grpcio PredictStream 25 days': status,
  };
}

/** conformance.py's MAX_MESSAGE_BYTES: small enough to exceed both ways in a test, large enough for a 3 MB round trip. */
const maxMessageBytes = 4 * 1024 * 1024;
const paths = [
  { path: 'answered directly', directCalls: true },
  { path: 'answered by grpc-js', directCalls: false },
] as const;

/** A case as conformance.py reports it: a check with the facts both paths must share. */
interface Case extends Check {
  facts: unknown;
}
type Outcome = { cases: Case[]; directCalls: boolean } | { error: string };

const temporary: string[] = [];
let stubs: Promise<string>;
let repository: Promise<string>;
const outcomes = new Map<boolean, Promise<Outcome>>();

/** Starts a server pair for one path (the second with a 500 ms maximum connection age), runs conformance.py against it, and stops them. */
async function conform(directCalls: boolean): Promise<{ cases: Case[]; directCalls: boolean }> {
  const modelRepository = await repository;
  const server = await startTestServer({ modelRepository, backend: conformanceBackend(), maxMessageBytes, directCalls });
  const aging = await startTestServer({ modelRepository, backend: conformanceBackend(), maxConnectionAgeMs: 500, directCalls });
  try {
    const work = await mkdtemp(path.join(tmpdir(), 'modelserve-conformance-'));
    temporary.push(work);
    const expectations = path.join(work, 'expectations.json');
    await writeFile(expectations, JSON.stringify({ lcg_check: lcgCheck(), aging_address: aging.server.address, direct_calls: directCalls }));
    const started = performance.now();
    const client = await run(PYTHON, [path.join(INTEROP, 'conformance.py'), '--address', server.server.address, '--expectations', expectations, '--stubs', await stubs]);
    if (client.code !== 0 && client.code !== 1) throw new Error(`conformance.py exited ${client.code}: ${client.stderr || client.stdout}`);
    const report = JSON.parse(client.stdout) as { checks: Case[] };
    const slowest = [...report.checks].sort((a, b) => b.seconds - a.seconds).slice(0, 5).map((c) => `${c.name} ${c.seconds} s`);
    console.info(`conformance.py (directCalls ${directCalls}): ${report.checks.length} cases in ${((performance.now() - started) / 1000).toFixed(1)} s; slowest: ${slowest.join(', ')}`);
    return { cases: report.checks, directCalls: server.server.directCalls && aging.server.directCalls };
  } finally {
    await Promise.all([server.close(), aging.close()]);
  }
}

beforeAll(async () => {
  const missing = await missingPrerequisites({ h2: 'python3-h2' });
  const ready = missing === undefined ? Promise.resolve() : Promise.reject(new Error(missing));
  stubs = ready.then(async () => {
    const work = await mkdtemp(path.join(tmpdir(), 'modelserve-conformance-stubs-'));
    temporary.push(work);
    await generateStubs(work);
    return work;
  });
  repository = conformanceRepository().then((root) => (temporary.push(root), root));
  // Both paths run at once: most of a run is waiting on deadlines and held calls.
  for (const { directCalls } of paths) {
    outcomes.set(
      directCalls,
      conform(directCalls).catch((error: Error) => ({ error: error.message })),
    );
  }
});

afterAll(async () => {
  await Promise.all(outcomes.values());
  await Promise.all(temporary.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The cases of one path, or the reason it did not run. */
async function casesOf(directCalls: boolean): Promise<Case[]> {
  const outcome = await outcomes.get(directCalls)!;
  if ('error' in outcome) throw new Error(`conformance.py did not run: ${outcome.error}`);
  return outcome.cases;
}

describe.each(paths)('gRPC conformance from Python, inference calls $path', ({ directCalls }) => {
  beforeAll(async () => {
    await outcomes.get(directCalls);
  });

  it(`runs against servers whose directCalls is ${directCalls}`, async () => {
    const outcome = await outcomes.get(directCalls)!;
    if ('error' in outcome) throw new Error(outcome.error);
    expect(outcome.directCalls).toBe(directCalls);
  });

  for (const name of CASES) {
    it(name, async () => {
      const found = (await casesOf(directCalls)).find((c) => c.name === name);
      if (found === undefined) throw new Error(`conformance.py reported no case '${name}'`);
      if (!found.ok) throw new Error(`${name}: ${found.detail}`);
    });
  }

  it('reports only the cases listed here', async () => {
    expect((await casesOf(directCalls)).map((c) => c.name)).toEqual(CASES);
  });
});

describe('gRPC conformance from Python, both paths', () => {
  const factsOf = async (name: string) => {
    const [direct, grpcJs] = await Promise.all([casesOf(true), casesOf(false)]);
    const facts = (cases: Case[]) => cases.find((c) => c.name === name)?.facts;
    return { direct: facts(direct), grpcJs: facts(grpcJs) };
  };
  for (const name of CASES.filter((c) => pathDependent[c] === undefined)) {
    it(`${name}: the same facts whether answered directly or by grpc-js`, async () => {
      const { direct, grpcJs } = await factsOf(name);
      expect(direct).toBeDefined();
      expect(direct).toEqual(grpcJs);
    });
  }
  for (const [name, expected] of Object.entries(pathDependent)) {
    it(`${name}: each path's own facts (the one documented difference)`, async () => {
      expect(await factsOf(name)).toEqual(expected);
    });
  }
});
