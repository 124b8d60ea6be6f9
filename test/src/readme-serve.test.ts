/**
 * The README's Quick start `serve` example, run as written from the repository root (where pnpm
 * runs the root `serve` script), but on 127.0.0.1 and a free port; and its word on where the
 * server listens by default, against the CLI's own.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(path.dirname(createRequire(import.meta.url).resolve('@modelserve/cli')), 'cli.js');
/** The README with every run of white space one space: inline code wraps across lines. */
const readme = readFileSync(path.join(root, 'README.md'), 'utf8').replace(/\s+/g, ' ');

describe("the README's Quick start", () => {
  it('serves with the options its serve example gives', async () => {
    const example = /`npx --yes pnpm@[0-9.]+ serve ([^`]+)`/.exec(readme);
    expect(example, 'a `npx --yes pnpm@… serve …` example').not.toBeNull();
    const args = example![1]!.split(' ');
    // Its port may be taken here: a free one instead, and loopback only.
    const port = args.indexOf('--port');
    if (port >= 0) args.splice(port, 2);
    const child = spawn(process.execPath, [cli, 'serve', ...args, '--port', '0', '--host', '127.0.0.1'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    try {
      const logs = await new Promise<Array<Record<string, unknown>>>((resolve, reject) => {
        const lines: Array<Record<string, unknown>> = [];
        child.once('exit', (code) => reject(new Error(`modelserve serve ${args.join(' ')} exited with code ${code}: ${stderr}`)));
        createInterface({ input: child.stdout }).on('line', (line) => {
          lines.push(JSON.parse(line) as Record<string, unknown>);
          if (lines.at(-1)!.msg === 'modelserve listening') resolve(lines);
        });
      });
      const repository = args[args.indexOf('--model-repository') + 1];
      expect(logs.find((l) => l.msg === 'loading model repository')?.repository).toBe(repository);
      expect(logs.filter((l) => l.msg === 'model version loaded').length).toBeGreaterThan(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);

  it('says where the server listens by default and how to bind loopback only, as the CLI does', () => {
    const help = execFileSync(process.execPath, [cli, 'serve', '--help'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    expect(help).toContain('--host <host> address to listen on: 0.0.0.0 every IPv4 interface, 127.0.0.1 loopback only (default: "0.0.0.0")');
    expect(readme).toContain('The server listens on every interface (`0.0.0.0`) by default; `--host 127.0.0.1` binds loopback only.');
  });
});
