#!/usr/bin/env node
/**
 * `pnpm bench:floor`: what batching can gain on this machine when nothing but the transport and the
 * worker round trip costs anything. Runs the floor server (server-floor.ts: `node:http2`, one
 * worker round trip per run, no gRPC library, validation or bookkeeping) with requests gathered
 * into runs (one worker per core but one, as modelserve's default for a batched model) and with one
 * request per run (one worker per core), alternately, under h2load at the same load, and prints
 * their throughput, ratio and event-loop delay p99 per round. Compare with `pnpm bench`'s batching
 * on against off.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command, Option } from 'commander';
import { integer } from './args.js';
import { forkChild, stopChild, waitForMessage } from './children.js';
import { findH2load, grpcFrame, h2loadArgs, parseH2loadSummary } from './h2load.js';
import { benchModels, encodedPayloads } from './payloads.js';
import { generateModels, temporaryDirectory } from './repository.js';
import type { FloorLoopMessage } from './server-floor.js';
import { listeningPort } from './servers-baseline.js';
import type { ModelKey } from './types.js';

const run = promisify(execFile);

const program = new Command()
  .name('modelserve-bench-floor')
  .description("What batching gains over one run per request on a server that does nothing else (node:http2 and a worker thread), under h2load")
  .addOption(new Option('--model <key>', 'mlp or cnn (default cnn)').choices(['mlp', 'cnn']).default('cnn'))
  .option('--in-flight <n>', 'requests in flight (default 32)', integer(1), 32)
  .option('--rounds <n>', 'rounds, each measuring both modes (default 3)', integer(1), 3)
  .option('--duration <s>', 'seconds measured per mode and round, after 1 s of warm-up (default 5)', integer(1), 5)
  .parse();
const opts = program.opts<{ model: ModelKey; inFlight: number; rounds: number; duration: number }>();
const h2load = findH2load();
if (h2load === undefined) program.error('error: h2load is needed (Debian/Ubuntu: apt-get install nghttp2-client)');

const model = benchModels[opts.model];
const dir = await temporaryDirectory('modelserve-floor-');
const modelFile = join(dir.path, 'model.onnx');
await writeFile(modelFile, generateModels([model]).get(model.name)!);
const dataFile = join(dir.path, 'request.bin');
await writeFile(dataFile, grpcFrame(Buffer.from(encodedPayloads(model)[0]!, 'base64')));

const cores = availableParallelism();
const modes = [
  { mode: 'batched', workers: Math.max(1, cores - 1) },
  { mode: 'unbatched', workers: cores },
] as const;

/** Requests/s of one mode over one window, and the floor's event-loop delay p99 in it. */
async function measure(mode: string, workers: number): Promise<{ rps: number; loopP99Ms: number }> {
  const child = forkChild('./server-floor.js', [modelFile, mode, String(workers), ...model.sampleDims.map(String)]);
  try {
    const port = await listeningPort(child);
    const args = h2loadArgs({
      url: `http://127.0.0.1:${port}/modelserve.v1.Predictor/Predict`,
      dataFile,
      logFile: join(dir.path, 'h2load.log'),
      inFlight: opts.inFlight,
      warmupMs: 1000,
      durationMs: opts.duration * 1000,
      deadlineMs: 30_000,
    });
    // The loop's window starts after h2load's warm-up.
    const reset = setTimeout(() => child.send('reset'), 1000);
    const { stdout } = await run(h2load!, args, { maxBuffer: 16 * 1024 * 1024 });
    clearTimeout(reset);
    const loop = waitForMessage(child, (m) => ((m as FloorLoopMessage).type === 'loop' ? (m as FloorLoopMessage).p99Ms : undefined));
    child.send('read');
    const loopP99Ms = await loop;
    const summary = parseH2loadSummary(stdout);
    if (summary === undefined || summary.failed + summary.errored + summary.timeout > 0) throw new Error(`h2load did not finish cleanly:\n${stdout}`);
    return { rps: summary.requestsPerSecond, loopP99Ms };
  } finally {
    await stopChild(child);
  }
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
console.log(`floor server, ${model.name}, ${opts.inFlight} in flight (h2load), ${cores} cores`);
for (let round = 1; round <= opts.rounds; round++) {
  const [batched, unbatched] = [await measure(modes[0].mode, modes[0].workers), await measure(modes[1].mode, modes[1].workers)];
  console.log(
    `round ${round}: gathered into runs (${modes[0].workers} worker) ${fmt(batched.rps)} req/s (loop p99 ${batched.loopP99Ms.toFixed(2)} ms), ` +
      `one request per run (${modes[1].workers} workers) ${fmt(unbatched.rps)} req/s (loop p99 ${unbatched.loopP99Ms.toFixed(2)} ms): ×${(batched.rps / unbatched.rps).toFixed(2)}`,
  );
}
dir.remove();
