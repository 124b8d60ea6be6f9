#!/usr/bin/env node
import { availableParallelism } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { builtInCurves, decimal, defaultProfile, simulateCommand, simulateDefaults } from './commands/autoscale.js';
import { cluster, clusterDefaults, clusterNumber } from './commands/cluster.js';
import { drift, watchSeconds } from './commands/drift.js';
import { infer } from './commands/infer.js';
import { cancelJob, collectState, count, datasetFormatNames, jobResults, jobStatus, listJobs, outputNames, submitJob, watchJob } from './commands/jobs.js';
import { models } from './commands/models.js';
import { profile } from './commands/profile.js';
import { reload, rollback, route } from './commands/route.js';
import { serve } from './commands/serve.js';
import { setConnectTimeout } from './client.js';

function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    return n;
  };
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/**
 * An integer option whose help shows its default once, as `shown` (commander prints the raw
 * value otherwise, e.g. 67108864 for 64 MiB).
 */
function integerOption(flags: string, description: string, min: number, max: number, value: number, shown?: string): Option {
  return new Option(flags, description).argParser(integer(min, max)).default(value, shown === undefined ? undefined : `${value}, ${shown}`);
}

/** A share from 0 to 1. */
function share(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`expected a number from 0 to 1, got ${JSON.stringify(value)}`);
  return n;
}

/** A share that cannot be 0. */
function positiveShare(value: string): number {
  const n = share(value);
  if (n === 0) throw new InvalidArgumentError(`expected a number above 0 and at most 1, got ${JSON.stringify(value)}`);
  return n;
}

const program = new Command('modelserve').description('Serve ONNX models over gRPC').showHelpAfterError();

/** The options every client command takes: where the server is and how long to wait for it. */
function clientCommand(name: string, parent: Command = program): Command {
  return parent
    .command(name)
    .option('-a, --address <host:port>', 'server address', '127.0.0.1:8001')
    .addOption(integerOption('--connect-timeout <seconds>', 'how long to wait for the connection to the server', 1, 86_400, 10));
}

program
  .command('serve')
  .description('serve a model repository (default: the bundled demo models)')
  .option('-r, --model-repository <dir>', 'model repository: <dir>/<model>/<version>/model.onnx (default: the bundled demo models)')
  .option('--host <host>', 'address to listen on: 0.0.0.0 every IPv4 interface, 127.0.0.1 loopback only', '0.0.0.0')
  .addOption(integerOption('-p, --port <port>', 'port to listen on; 0 picks a free one', 0, 65535, 8001))
  .addOption(integerOption('--max-message-bytes <n>', 'largest gRPC message received or sent', 1024, 2 ** 31 - 1, 64 * 1024 * 1024, '64 MiB'))
  .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'))
  .addOption(integerOption('--inference-delay-ms <ms>', 'add this delay before every inference answer (tests and demos of a slow replica)', 0, 60_000, 0))
  .addOption(integerOption('--max-concurrent-streams <n>', 'concurrent calls per client connection', 1, 100_000, 256))
  .addOption(integerOption('--max-connection-age-ms <ms>', 'close connections (gracefully) after this long so clients rebalance; 0: never', 0, 2 ** 31 - 1, 300_000, '5 min'))
  .addOption(integerOption('--max-bytes-element <bytes>', 'longest BYTES tensor element a request may carry', 1, 2 ** 31 - 1, 16 * 1024 * 1024, '16 MiB'))
  .addOption(new Option('--model-control-mode <mode>', 'which models load: none (all at start), explicit (--load-model and LoadModel), on-demand (on first request; least recently used idle ones unload past a limit)').choices(['none', 'explicit', 'on-demand']).default('none'))
  .option('--load-model <name>', 'with --model-control-mode explicit or on-demand: load this model at start (repeatable)', collect, [])
  .addOption(integerOption('--max-loaded-models <n>', 'most models loaded at once (on-demand: unload the least recently used idle one past it); 0: no limit', 0, 1_000_000, 0))
  .addOption(integerOption('--memory-budget-mb <MiB>', 'memory loaded models may take, estimated from their files (on-demand: unload the least recently used idle ones past it); 0: no limit', 0, 16 * 1024 * 1024, 0))
  .addOption(integerOption('--load-concurrency <n>', 'most model versions loading at once', 1, 4096, availableParallelism(), 'one per core'))
  .addOption(integerOption('--inference-threads <n>', 'threads of the shared inference pool that runs every model', 1, 1024, availableParallelism(), 'one per core'))
  .addOption(integerOption('--inline-max-us <µs>', 'a request alone in flight and expected to run within this long (its model\'s fastest run, scaled by size) runs on a copy of the session on the main thread, skipping the pool and blocking the loop that long; 0: never', 0, 10_000_000, 200))
  .addOption(new Option('--metrics-port <port>', 'serve Prometheus metrics at http://<metrics-host>:<port>/metrics; 0: no metrics (default: 8002; with --port 0, a free port, logged)').argParser(integer(0, 65535)))
  .option('--metrics-host <host>', 'address the metrics endpoint listens on (default: --host)')
  .option('--metrics-triton-names', "also export Triton's metric names (nv_inference_request_success, nv_inference_queue_duration_us, ...) so Triton dashboards work")
  .option('--otlp-endpoint <url>', 'export OpenTelemetry traces of inference requests over OTLP/HTTP to this URL, e.g. http://127.0.0.1:4318/v1/traces')
  .addOption(new Option('--trace-ratio <ratio>', 'with --otlp-endpoint: share of requests traced when the caller did not sample them (a sampled W3C traceparent is always continued); TraceSetting changes it at run time').argParser(share).default(0))
  .addOption(new Option('--request-log-sample <rate>', 'log this share of requests (0 to 1) as "request" records: model, version, id, status, time; never metadata or tokens').argParser(share).default(0))
  .addOption(new Option('--request-log-payloads <what>', 'with --request-log-sample: add a sha256 digest of each input, or its values').choices(['none', 'digest', 'full']).default('none'))
  .addOption(integerOption('--drain-grace-ms <ms>', 'on SIGTERM, how long accepted calls may take to finish before the process exits anyway', 0, 600_000, 10_000, '10 s'))
  .option('--tls-cert <file>', 'serve TLS with this PEM certificate chain (with --tls-key)')
  .option('--tls-key <file>', 'PEM private key of --tls-cert')
  .option('--tls-client-ca <file>', 'require client certificates signed by this PEM CA (mTLS)')
  .option('--admin-token <token>', 'bearer token required to load, unload, route, reload and set the serving status (default: $MODELSERVE_ADMIN_TOKEN; unset: open)')
  .option('--inference-token <token>', 'bearer token required by every other call but health and reflection (default: $MODELSERVE_INFERENCE_TOKEN; unset: open)')
  .addOption(integerOption('--repository-poll-interval <seconds>', 're-read the model repository this often; 0: only on SIGHUP or `modelserve reload`', 0, 86_400, 0))
  .option('--no-direct-calls', 'leave every call to grpc-js instead of answering the inference methods on its HTTP/2 streams (default: answered on the streams unless $MODELSERVE_DIRECT_CALLS is 0 or false)')
  .option('--no-exit-on-error', 'keep serving the models that loaded when one fails to load at start-up (default: exit non-zero, naming each failure)')
  .option('--jobs-dir <dir>', 'serve batch jobs (modelserve.v1.Jobs), their state in an embedded SQLite store in this directory: a job survives a restart on it')
  .option('--jobs-queue <url>', 'serve batch jobs from NATS JetStream at this nats://host:port, shared by every replica pointed at it (instead of --jobs-dir)')
  .option('--jobs-data-dir <dir>', "with --jobs-dir or --jobs-queue: jobs' dataset and output paths are relative to this directory and stay inside it (default: none, only rows sent in the request)")
  .addOption(new Option('--jobs-concurrency <n>', 'with --jobs-dir or --jobs-queue: job chunks this server runs at once (default: 4)').argParser(count(1, 4096)))
  .addOption(new Option('--jobs-busy-share <fraction>', 'with --jobs-dir or --jobs-queue: while online requests arrive, job chunks run one at a time and at most this fraction of the time, so online latency holds (default: 0.08; 1: no pause)').argParser(positiveShare))
  .addOption(new Option('--jobs-max-rows <n>', 'with --jobs-dir or --jobs-queue: rows one job may have; a bigger job is RESOURCE_EXHAUSTED (default: 10000000)').argParser(count(1, Number.MAX_SAFE_INTEGER)))
  .addOption(new Option('--jobs-max-queued <n>', 'with --jobs-dir or --jobs-queue: jobs queued or running at once; a submission past it is RESOURCE_EXHAUSTED (default: 100)').argParser(count(1, 1_000_000)))
  .addOption(new Option('--jobs-ack-wait-ms <ms>', "with --jobs-queue: how long a chunk a replica took may go unacknowledged (the replica died) before another replica gets it (default: 30000)").argParser(count(100, 2 ** 31 - 1)))
  .action(serve);

clientCommand('route')
  .description("show or change a model's routing of requests that name no version (one atomic step; `rollback` undoes it)")
  .argument('<model>', 'model name')
  .option('--split <weights>', 'weighted split, e.g. 1=90,2=10 (none to clear)')
  .option('--default <version>', 'default version (none: the highest ready version); a blue-green switch')
  .option('--shadow <version>', 'version that gets a copy of every request, answers compared, never returned (none to clear)')
  .option('--token <token>', 'admin bearer token (default: $MODELSERVE_ADMIN_TOKEN)')
  .action(route);

clientCommand('rollback')
  .description("restore a model's routing from before its last change")
  .argument('<model>', 'model name')
  .option('--token <token>', 'admin bearer token (default: $MODELSERVE_ADMIN_TOKEN)')
  .action(rollback);

clientCommand('reload')
  .description('re-read the model repository: new versions load and warm up, removed ones drain, changed files are replaced')
  .option('--token <token>', 'admin bearer token (default: $MODELSERVE_ADMIN_TOKEN)')
  .action(reload);

clientCommand('models')
  .description('list the models of a running server with their versions and states')
  .option('--json', 'print JSON instead of a table')
  .action(models);

clientCommand('infer')
  .description('run one prediction and print the outputs as JSON')
  .argument('<model>', 'model name')
  .addOption(new Option('-v, --model-version <version>', 'model version').default('', "the version the model's routing picks"))
  .addOption(new Option('-i, --input <name=value>', 'an input: JSON (nested arrays), @file.json, random or zeros; repeatable').argParser(collect).default([], 'random values for every input not given'))
  .addOption(new Option('-o, --output <name>', 'an output to return; repeatable').argParser(collect).default([], 'every output'))
  .option('--id <id>', 'request id', 'cli')
  .action(infer);

clientCommand('drift')
  .description("show the drift of watched model versions' inputs and outputs from their reference (config.yaml's drift: block): per version its state, level, the last window's samples and the reference, then each tensor's most drifted features")
  .argument('[model]', 'model name (default: every watched model)')
  .option('-v, --model-version <version>', 'one version of the model (default: each watched version)')
  .option('--against <version>', "with --model-version: compare that version's current traffic with this version's instead of with the reference (both need one <model>/reference.json)")
  .option('--json', 'print JSON instead of tables; with --watch, one line per refresh')
  .addOption(new Option('--watch [seconds]', 'refresh every so many seconds (5 when not given) until Ctrl-C; exits non-zero when a call fails').argParser(watchSeconds))
  .action(drift);

const jobs = program
  .command('jobs')
  .description('asynchronous batch inference: submit a job, follow it, collect its results, cancel or list jobs (the server needs --jobs-dir or --jobs-queue)');

/** A `jobs` subcommand: a client command that sends the inference token. */
function jobsCommand(name: string): Command {
  return clientCommand(name, jobs).option('--token <token>', 'inference bearer token (default: $MODELSERVE_INFERENCE_TOKEN)');
}

const uint32 = 2 ** 32 - 1;

jobsCommand('submit')
  .description("submit a job: a model's rows from a dataset under the server's --jobs-data-dir or from a local JSONL file; prints its id")
  .requiredOption('-m, --model <name>', 'model name')
  .option('-v, --model-version <version>', "model version (default: the model's current version, kept for the whole job)")
  .option('--dataset <path>', "the rows: a dataset under the server's --jobs-data-dir (a .npy file, a .jsonl file, or a directory of <input>.npy files)")
  .addOption(new Option('--format <format>', 'how --dataset holds rows (default: from the path: a directory npy-dir, *.npy npy, *.jsonl jsonl)').choices(datasetFormatNames))
  .option('--rows <file.jsonl>', 'the rows: a local JSONL file sent in the request, a line per row, {"input": [...]} for a model with one input or {"inputs": {"<name>": [...], ...}}')
  .option('--output <path>', "also write the results here, under the server's --jobs-data-dir, once every row is done")
  .addOption(new Option('--output-format <format>', 'how --output holds the results (default: from the path)').choices(datasetFormatNames))
  .option('--idempotency-key <key>', 'submitting again with the same key answers the job the first submission created')
  .addOption(new Option('--priority <n>', 'among jobs, 1 runs first; every job runs below every online request (default: 1)').argParser(count(1, uint32)))
  .addOption(new Option('--max-failed-rows <n>', 'rows that may fail (malformed, or refused by the model) before the job FAILS (default: 0)').argParser(count(0, Number.MAX_SAFE_INTEGER)))
  .addOption(new Option('--chunk-rows <n>', "rows per chunk (default: the model's max_batch_size)").argParser(count(1, uint32)))
  .addOption(new Option('--outputs <names>', 'outputs to keep, separated by commas (default: every output)').argParser(outputNames))
  .option('--watch', 'then follow the job until it ends, as `jobs watch` does')
  .option('--json', 'print the job as JSON instead of its id')
  .action(submitJob);

jobsCommand('status')
  .description("show a job's state and progress")
  .argument('<id>', 'job id')
  .option('--json', 'print JSON')
  .action(jobStatus);

jobsCommand('watch')
  .description('follow a job until it ends, its progress on stderr (a bar on a terminal, else a line per update); exits 0 when it SUCCEEDED, 1 when it FAILED or was CANCELLED')
  .argument('<id>', 'job id')
  .option('--json', 'print the job as JSON once it ends instead of a summary line')
  .action(watchJob);

jobsCommand('results')
  .description('print a job\'s results as JSON lines: {"row": 0, "outputs": {"<name>": {"datatype", "shape", "data"}}} or {"row": 0, "error": "..."}')
  .argument('<id>', 'job id')
  .option('--out <file>', 'write them to this file instead of stdout')
  .addOption(new Option('--start <row>', 'first row (default: 0)').argParser(count(0, Number.MAX_SAFE_INTEGER)))
  .addOption(new Option('--max <rows>', 'rows at most (default: every row from --start)').argParser(count(1, Number.MAX_SAFE_INTEGER)))
  .option('--partial', 'the rows answered so far of a job that has not ended')
  .action(jobResults);

jobsCommand('cancel')
  .description('cancel a job that has not ended: chunks not yet run are dropped, the rows answered stay readable')
  .argument('<id>', 'job id')
  .option('--json', 'print the job as JSON')
  .action(cancelJob);

jobsCommand('list')
  .description('list jobs, newest first')
  .addOption(new Option('--state <state>', 'only jobs in this state: QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELLED; repeatable (default: every state)').argParser(collectState))
  .option('--model <name>', 'only jobs of this model')
  .addOption(new Option('--page-size <n>', 'jobs per page (default: 50)').argParser(count(1, 1000)))
  .option('--all', 'every page, not only the first')
  .option('--json', 'print JSON instead of a table')
  .action(listJobs);

program
  .command('profile')
  .description("run a data file's samples through a model in this process (no server) and write their profile, the reference.json a server compares the model version's traffic with")
  .argument('<model>', 'model name')
  .option('-r, --model-repository <dir>', 'model repository (default: the bundled demo models)')
  .addOption(new Option('-v, --model-version <version>', 'model version (default: the highest version on disk)').argParser(integer(1, Number.MAX_SAFE_INTEGER)))
  .requiredOption('--input <file>', "samples: a .npy array whose first dimension counts them ('<f4', '<f8', '<i4', '<i8', '|u1', '|b1' little-endian, C order; '<f8' is converted for an FP32 input, other types must be the input's), or .jsonl: a line per sample, a JSON array or an object {\"<input>\": sample, ...}")
  .option('--input-name <name>', "the input the file's arrays are for (default: the model's only input)")
  .addOption(integerOption('--batch <n>', "samples per run, at most the model's max_batch_size", 1, 1_000_000, 256))
  .addOption(new Option('--samples <n>', 'samples to profile (default: every one in the file)').argParser(integer(1, Number.MAX_SAFE_INTEGER)))
  .option('-o, --output <file>', 'where to write the profile (default: <repository>/<model>/<version>/reference.json)')
  .option('--force', 'overwrite --output if it exists')
  .action(profile);

program
  .command('cluster')
  .description('run a local autoscaled cluster: `modelserve serve` replicas on loopback ports, started and drained by the autoscaling policy, replaced when they die; modelserve.v1.Cluster on --port lists them (the SDK\'s supervisorResolver follows it)')
  .argument('[serve-args...]', 'after --: more flags for every `modelserve serve` replica, e.g. -- --inference-threads 1')
  .addOption(integerOption('--min <n>', 'fewest replicas (no scale to zero: a replica must be there to see load)', 1, 1000, clusterDefaults.minReplicas))
  .addOption(integerOption('--max <n>', 'most replicas', 1, 1000, clusterDefaults.maxReplicas))
  .option('-r, --model-repository <dir>', 'model repository every replica serves (default: the bundled demo models)')
  .option('--host <host>', "address the supervisor's own port listens on (replicas always listen on 127.0.0.1)", '127.0.0.1')
  .addOption(integerOption('-p, --port <port>', 'the supervisor\'s port: modelserve.v1.Cluster and grpc.health.v1; 0 picks a free one (logged)', 0, 65535, 8000))
  .addOption(new Option('--target <n>', 'requests in flight or queued per replica the policy aims at').argParser(clusterNumber).default(clusterDefaults.targetPerReplica))
  .addOption(new Option('--stable-window-ms <ms>', 'window the load is averaged over; load must stay low this long before a scale-down').argParser(clusterNumber).default(clusterDefaults.stableWindowMs))
  .addOption(new Option('--panic-window-ms <ms>', 'short window that detects a surge (2x the ready replicas\' target): scale up at once').argParser(clusterNumber).default(clusterDefaults.panicWindowMs))
  .addOption(new Option('--scale-up-delay-ms <ms>', 'a higher count must be asked for this long before it applies (outside panic)').argParser(clusterNumber).default(clusterDefaults.scaleUpDelayMs))
  .addOption(new Option('--scale-down-delay-ms <ms>', 'a lower count must be asked for this long (or the stable window, if longer)').argParser(clusterNumber).default(clusterDefaults.scaleDownDelayMs))
  .addOption(new Option('--max-step-up <n>', `replicas added at most per ${clusterDefaults.stepUpPeriodMs / 1000} s`).argParser(clusterNumber).default(clusterDefaults.maxStepUp))
  .addOption(new Option('--max-step-down <n>', `replicas removed at most per ${clusterDefaults.stepDownPeriodMs / 1000} s`).argParser(clusterNumber).default(clusterDefaults.maxStepDown))
  .addOption(integerOption('--tick-ms <ms>', 'how often loads are read and the policy asked', 10, 600_000, 1000))
  .addOption(integerOption('--drain-grace-ms <ms>', "each replica's --drain-grace-ms: how long its accepted calls may take once it is sent SIGTERM", 0, 600_000, 10_000, '10 s'))
  .addOption(integerOption('--deregister-delay-ms <ms>', 'time between unpublishing a replica and sending it SIGTERM, so clients stop picking it first (a preStop sleep)', 0, 600_000, 1000))
  .addOption(integerOption('--start-timeout-ms <ms>', 'a replica not ready (models loaded and warmed, health SERVING) this long after its start is killed and started again', 1000, 86_400_000, 120_000, '2 min'))
  .addOption(new Option('--log-level <level>', "the supervisor's log level").choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'))
  .action(cluster);

program
  .command('autoscale')
  .description('the autoscaling policy, as code you can run')
  .command('simulate')
  .description(
    "run the autoscaling policy against a load curve in virtual time: Poisson arrivals along the curve, least-request routing over READY replicas, each serving the measured profile's slots at once (the rest queued), cold starts drawn from the measured ones; prints requests over the SLO, replica-minutes, scaling events, the surge's absorption time and the series",
  )
  .requiredOption(
    '--curve <name|file>',
    `a built-in curve (${builtInCurves.join(', ')}) or a JSON file: {"name", "description", "unit": "requests_per_second" or "replicas" (multiples of one replica's capacity in --profile), "surge": [start, end] seconds (optional), "points": [[seconds, rate], ...]}, rates linear between points from 0 s, two points at one time a step`,
  )
  .addOption(new Option('--profile <file>', "the replica's measured profile, JSON (`pnpm bench --autoscale-profile` writes it)").default(defaultProfile, 'curves/profile.json in this package: the slow MLP on a 2-core VM'))
  .addOption(new Option('--slo-ms <ms>', 'latency SLO: requests answered later are over it').argParser(decimal(0)).default(simulateDefaults.sloMs))
  .addOption(integerOption('--seed <n>', 'random seed: the same seed, the same run', 0, 2 ** 32 - 1, simulateDefaults.seed))
  .addOption(integerOption('--tick-ms <ms>', 'how often loads are sampled and the policy asked', 10, 600_000, simulateDefaults.tickMs))
  .addOption(integerOption('--window-ms <ms>', 'width of the series windows (load, replicas, p99)', 100, 3_600_000, simulateDefaults.windowMs))
  .addOption(new Option('--target <n>', 'requests in flight or queued per replica the policy aims at').argParser(decimal(0)).default(simulateDefaults.policy.targetPerReplica))
  .addOption(integerOption('--min <n>', 'fewest replicas (0: scale to zero; an activator holds requests until one is READY)', 0, 1000, simulateDefaults.policy.minReplicas))
  .addOption(integerOption('--max <n>', 'most replicas', 1, 1000, simulateDefaults.policy.maxReplicas))
  .addOption(integerOption('--stable-window-ms <ms>', 'window the load is averaged over; load must stay low this long before a scale-down', 1, 86_400_000, simulateDefaults.policy.stableWindowMs))
  .addOption(integerOption('--panic-window-ms <ms>', 'short window that detects a surge', 1, 86_400_000, simulateDefaults.policy.panicWindowMs))
  .addOption(new Option('--panic-threshold <x>', "panic when the panic window needs this many times the READY replicas").argParser(decimal(1)).default(simulateDefaults.policy.panicThreshold))
  .addOption(integerOption('--scale-up-delay-ms <ms>', 'a higher count must be asked for this long before it applies (outside panic)', 0, 86_400_000, simulateDefaults.policy.scaleUpDelayMs))
  .addOption(integerOption('--scale-down-delay-ms <ms>', 'a lower count must be asked for this long (or the stable window, if longer)', 0, 86_400_000, simulateDefaults.policy.scaleDownDelayMs))
  .addOption(integerOption('--max-step-up <n>', 'replicas added at most per --step-up-period-ms', 1, 1000, simulateDefaults.policy.maxStepUp))
  .addOption(integerOption('--step-up-period-ms <ms>', 'period of --max-step-up', 1, 86_400_000, simulateDefaults.policy.stepUpPeriodMs))
  .addOption(integerOption('--max-step-down <n>', 'replicas removed at most per --step-down-period-ms', 1, 1000, simulateDefaults.policy.maxStepDown))
  .addOption(integerOption('--step-down-period-ms <ms>', 'period of --max-step-down', 1, 86_400_000, simulateDefaults.policy.stepDownPeriodMs))
  .addOption(new Option('--cold-start-ms <ms>', "every cold start this long instead of the profile's (e.g. a pod's scheduling and image pull)").argParser(integer(0, 86_400_000)))
  .addOption(new Option('--initial <n>', "replicas READY at 0 s (default: what the curve's first rate needs at the target, within --min and --max)").argParser(integer(0, 1000)))
  .option('--svg <file>', 'also draw load, replicas and p99 over time as SVG')
  .option('--json', 'print the whole result as JSON (figures, events, series, every replica\'s life) instead of tables')
  .action(simulateCommand);

// The client commands' --connect-timeout, for the connection client.ts makes.
program.hook('preAction', (_program, command) => {
  const seconds: unknown = command.opts()['connectTimeout'];
  if (typeof seconds === 'number') setConnectTimeout(seconds);
});

program.parseAsync().catch((error: unknown) => {
  const e = error as { code?: number; details?: string; message?: string };
  console.error(`modelserve: ${e.details ?? e.message ?? String(error)}`);
  process.exitCode = 1;
});
