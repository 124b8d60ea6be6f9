/**
 * The modelserve command's help text: the real binary, run as a user runs it.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const cli = path.join(path.dirname(createRequire(import.meta.url).resolve('@modelserve/cli')), 'cli.js');
const modelserve = (...args: string[]) => promisify(execFile)(process.execPath, [cli, ...args]);

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
  const commands = ['serve', 'route', 'rollback', 'reload', 'models', 'infer'];

  it('shows each option default once', async () => {
    const helps = await Promise.all(commands.map(async (command) => [command, (await modelserve(command, '--help')).stdout] as const));
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
  });
});
