/**
 * The modelserve command where no server answers, and its help text: the real binary, run as a
 * user runs it.
 */
import { execFile } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { createRequire } from 'node:module';
import { createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { defaultJobsBusyShare, defaultJobsConcurrency, defaultMaxActiveJobs, defaultMaxRowsPerJob } from '@modelserve/jobs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cli = path.join(path.dirname(createRequire(import.meta.url).resolve('@modelserve/cli')), 'cli.js');
const modelserve = (...args: string[]) => promisify(execFile)(process.execPath, [cli, ...args]);
/** What a failing command exited with and printed. */
const failed = (...args: string[]) =>
  modelserve(...args).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

/** A TCP server on 127.0.0.1 that accepts connections and never says anything: a gRPC connection to it never completes. */
let silent: Server;
const held: Socket[] = [];
/** A port on 127.0.0.1 where nothing listens (taken, then freed). */
let freePort: number;

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

beforeAll(async () => {
  silent = createServer((socket) => held.push(socket));
  await listen(silent);
  const probe = createServer();
  freePort = await listen(probe);
  await new Promise((resolve) => probe.close(resolve));
});
afterAll(async () => {
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

describe('a client command that cannot reach its server', () => {
  it('says nothing is listening at the address and how to start a server or name another', async () => {
    const address = `127.0.0.1:${freePort}`;
    expect(await failed('models', '--address', address)).toEqual({
      code: 1,
      stdout: '',
      stderr: `modelserve: nothing is listening on ${address} (connection refused): start a server with \`modelserve serve\`, or point --address at a running one\n`,
    });
  });

  it('says which host does not resolve', async () => {
    // What the resolver says here (no such name; or, with no DNS server to ask, why the lookup failed).
    const why = await lookup('nonexistent.invalid').then(
      () => 'it resolved when looked up again: retry',
      (e: NodeJS.ErrnoException) => (e.code === 'ENOTFOUND' ? 'no such host name' : `the lookup failed: ${e.code}`),
    );
    expect(await failed('infer', 'tiny_mlp', '--address', 'nonexistent.invalid:8001')).toEqual({
      code: 1,
      stdout: '',
      stderr: `modelserve: cannot resolve host 'nonexistent.invalid' of nonexistent.invalid:8001 (${why}): check --address\n`,
    });
  });

  it('gives up on a connection that does not complete after --connect-timeout, and says so', async () => {
    const address = `127.0.0.1:${(silent.address() as { port: number }).port}`;
    const started = performance.now();
    const result = await failed('route', 'mnist_mlp', '--address', address, '--connect-timeout', '1');
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `modelserve: connecting to ${address} timed out after 1 s: is the host up, the port open to you, and a gRPC server listening on it? (--connect-timeout to wait longer)\n`,
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(1000);
    expect(held.length).toBeGreaterThan(0);
  });
});

/** Each option of `modelserve <command> --help` as [flags, description], wrapped lines joined. */
function optionEntries(help: string): Array<[string, string]> {
  const lines = help.split('\n');
  const from = lines.indexOf('Options:');
  const entries: string[] = [];
  for (const line of lines.slice(from + 1)) {
    if (!line.startsWith(' ')) break;
    if (/^ {2}-/.test(line)) entries.push(line.trim());
    else entries[entries.length - 1] += ` ${line.trim()}`;
  }
  return entries.map((entry) => {
    const match = /^(-\S.*?)(?: {2,}(.*))?$/.exec(entry)!;
    return [match[1]!, match[2] ?? ''];
  });
}

describe('modelserve --help', () => {
  const commands = ['serve', 'route', 'rollback', 'reload', 'models', 'infer', 'drift', 'profile', ...['submit', 'status', 'watch', 'results', 'cancel', 'list'].map((c) => `jobs ${c}`)];

  it('shows each option default once', async () => {
    const helps = await Promise.all(commands.map(async (command) => [command, (await modelserve(...command.split(' '), '--help')).stdout] as const));
    const doubled: string[] = [];
    for (const [command, help] of helps) {
      const entries = optionEntries(help);
      expect(entries.length, command).toBeGreaterThan(1);
      for (const [flags, description] of entries) {
        if ((description.match(/default/gi) ?? []).length > 1) doubled.push(`${command} ${flags}: ${description}`);
      }
    }
    expect(doubled).toEqual([]);
    const help = Object.fromEntries(helps.map(([command, text]) => [command, Object.fromEntries(optionEntries(text))]));
    expect(help['infer']!['-v, --model-version <version>']).toBe("model version (default: the version the model's routing picks)");
    expect(help['infer']!['-o, --output <name>']).toBe('an output to return; repeatable (default: every output)');
    expect(help['serve']!['-r, --model-repository <dir>']).toBe('model repository: <dir>/<model>/<version>/model.onnx (default: the bundled demo models)');
    expect(help['serve']!['--host <host>']).toBe('address to listen on: 0.0.0.0 every IPv4 interface, 127.0.0.1 loopback only (default: "0.0.0.0")');
    expect(help['serve']!['--max-message-bytes <n>']).toBe('largest gRPC message received or sent (default: 67108864, 64 MiB)');
    for (const command of commands.filter((c) => c !== 'serve' && c !== 'profile')) {
      expect(help[command]!['--connect-timeout <seconds>'], command).toBe('how long to wait for the connection to the server (default: 10)');
    }
    for (const command of commands.filter((c) => c.startsWith('jobs '))) {
      expect(help[command]!['--token <token>'], command).toBe('inference bearer token (default: $MODELSERVE_INFERENCE_TOKEN)');
    }
    // The job engine's defaults, which the help states (the CLI leaves them to the engine).
    expect(help['serve']!['--jobs-concurrency <n>']).toContain(`(default: ${defaultJobsConcurrency})`);
    expect(help['serve']!['--jobs-max-rows <n>']).toContain(`(default: ${defaultMaxRowsPerJob})`);
    expect(help['serve']!['--jobs-busy-share <fraction>']).toContain(`(default: ${defaultJobsBusyShare};`);
    expect(help['serve']!['--jobs-max-queued <n>']).toContain(`(default: ${defaultMaxActiveJobs})`);
  });

  it('lists the jobs commands', async () => {
    const help = (await modelserve('jobs', '--help')).stdout;
    const listed = help.slice(help.indexOf('Commands:')).split('\n').slice(1).map((l) => /^ {2}(\S+)/.exec(l)?.[1]).filter((c) => c !== undefined);
    expect(listed).toEqual(['submit', 'status', 'watch', 'results', 'cancel', 'list', 'help']);
  });
});
