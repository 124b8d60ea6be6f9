/**
 * pnpm prints its own banner ("> modelserve@0.1.0 modelserve …") on stdout before a script's
 * output, so `pnpm modelserve models --json | jq` hands jq text that is not JSON. Every README
 * command that pipes what pnpm runs must silence it with `-s`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** Lines of code fences and inline code spans: the places a reader copies commands from. */
function commands(markdown: string): string[] {
  const found: string[] = [];
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (line.trimStart().startsWith('```')) inFence = !inFence;
    else if (inFence) found.push(line);
    else found.push(...[...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
  }
  return found;
}

/** A pnpm command (`pnpm …` or `npx pnpm@x …`) without -s/--silent whose output goes into a pipe (`|`, not `||`). */
const loudPipe = /(?:^|[\s;&(])pnpm(?:@\S+)?\s+(?!-s\s|--silent\s)[^|]*\|(?!\|)/;

describe('the README', () => {
  it('pipes the output of pnpm commands only with pnpm -s', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(commands(readme).filter((c) => loudPipe.test(c))).toEqual([]);
    // The rule's own examples: caught, and let through.
    expect(loudPipe.test('pnpm modelserve models --json | jq')).toBe(true);
    expect(loudPipe.test('npx --yes pnpm@10.34.9 modelserve models --json | jq')).toBe(true);
    expect(loudPipe.test('pnpm -s modelserve models --json | jq')).toBe(false);
    expect(loudPipe.test('pnpm build || exit 1')).toBe(false);
  });
});
