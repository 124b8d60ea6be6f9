#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { infer } from './commands/infer.js';
import { models } from './commands/models.js';
import { reload, rollback, route } from './commands/route.js';
import { serve } from './commands/serve.js';

function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    return n;
  };
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

const program = new Command('modelserve').description('Serve ONNX models over gRPC').showHelpAfterError();

program
  .command('serve')
  .description('serve a model repository (default: the bundled demo models)')
  .option('-r, --model-repository <dir>', 'model repository: <dir>/<model>/<version>/model.onnx')
  .option('--host <host>', 'address to listen on', '0.0.0.0')
  .option('-p, --port <port>', 'port to listen on (0 picks a free one)', integer(0, 65535), 8001)
  .option('--max-message-bytes <n>', 'largest gRPC message received or sent', integer(1024, 2 ** 31 - 1), 64 * 1024 * 1024)
  .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'))
  .option('--inference-delay-ms <ms>', 'add this delay before every inference answer (tests and demos of a slow replica)', integer(0, 60_000), 0)
  .option('--max-concurrent-streams <n>', 'concurrent calls per client connection', integer(1, 100_000), 256)
  .option('--max-connection-age-ms <ms>', 'close connections (gracefully) after this long so clients rebalance; 0: never', integer(0, 2 ** 31 - 1), 300_000)
  .option('--max-bytes-element <bytes>', 'longest BYTES tensor element a request may carry', integer(1, 2 ** 31 - 1), 16 * 1024 * 1024)
  .option('--max-loaded-models <n>', 'most models loaded at once (0: no limit)', integer(0, 1_000_000), 0)
  .option('--drain-grace-ms <ms>', 'on SIGTERM, how long accepted calls may take to finish before the process exits anyway', integer(0, 600_000), 10_000)
  .option('--tls-cert <file>', 'serve TLS with this PEM certificate chain (with --tls-key)')
  .option('--tls-key <file>', 'PEM private key of --tls-cert')
  .option('--tls-client-ca <file>', 'require client certificates signed by this PEM CA (mTLS)')
  .option('--admin-token <token>', 'bearer token required to load, unload, route, reload and set the serving status (default: $MODELSERVE_ADMIN_TOKEN; unset: open)')
  .option('--inference-token <token>', 'bearer token required by every other call but health and reflection (default: $MODELSERVE_INFERENCE_TOKEN; unset: open)')
  .option('--repository-poll-interval <seconds>', 're-read the model repository this often (0: only on SIGHUP or `modelserve reload`)', integer(0, 86_400), 0)
  .option('--no-direct-calls', 'leave every call to grpc-js instead of answering the inference methods on its HTTP/2 streams (default: $MODELSERVE_DIRECT_CALLS, 0 or false for off)')
  .option('--no-exit-on-error', 'keep serving the models that loaded when one fails to load at start-up (default: exit non-zero, naming each failure)')
  .action(serve);

program
  .command('route')
  .description("show or change a model's routing of requests that name no version (one atomic step; `rollback` undoes it)")
  .argument('<model>', 'model name')
  .option('-a, --address <host:port>', 'server address', '127.0.0.1:8001')
  .option('--split <weights>', 'weighted split, e.g. 1=90,2=10 (none to clear)')
  .option('--default <version>', 'default version (none: the highest ready version); a blue-green switch')
  .option('--shadow <version>', 'version that gets a copy of every request, answers compared, never returned (none to clear)')
  .option('--token <token>', 'admin bearer token (default: $MODELSERVE_ADMIN_TOKEN)')
  .action(route);

program
  .command('rollback')
  .description("restore a model's routing from before its last change")
  .argument('<model>', 'model name')
  .option('-a, --address <host:port>', 'server address', '127.0.0.1:8001')
  .option('--token <token>', 'admin bearer token (default: $MODELSERVE_ADMIN_TOKEN)')
  .action(rollback);

program
  .command('reload')
  .description('re-read the model repository: new versions load and warm up, removed ones drain, changed files are replaced')
  .option('-a, --address <host:port>', 'server address', '127.0.0.1:8001')
  .option('--token <token>', 'admin bearer token (default: $MODELSERVE_ADMIN_TOKEN)')
  .action(reload);

program
  .command('models')
  .description('list the models of a running server with their versions and states')
  .option('-a, --address <host:port>', 'server address', '127.0.0.1:8001')
  .option('--json', 'print JSON', false)
  .action(models);

program
  .command('infer')
  .description('run one prediction and print the outputs as JSON')
  .argument('<model>', 'model name')
  .option('-a, --address <host:port>', 'server address', '127.0.0.1:8001')
  .option('-v, --model-version <version>', 'model version (default: the default version)', '')
  .option('-i, --input <name=value>', 'an input: JSON (nested arrays), @file.json, random or zeros; repeatable; missing inputs are random', collect, [])
  .option('-o, --output <name>', 'an output to return; repeatable (default: all)', collect, [])
  .option('--id <id>', 'request id', 'cli')
  .action(infer);

program.parseAsync().catch((error: unknown) => {
  const e = error as { code?: number; details?: string; message?: string };
  console.error(`modelserve: ${e.details ?? e.message ?? String(error)}`);
  process.exitCode = 1;
});
