/**
 * Dataset paths: relative to the jobs data directory and kept inside it, symlinks included. A path
 * is checked when a job is submitted and again when its files are opened; a symlink swapped in
 * between those moments is not guarded against (the data directory is the operator's).
 */
import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { invalidArgument, ModelServeError } from '@modelserve/core';

/**
 * The real absolute path of `rel` under `dataDir`. An input must exist; an output need not (nor its
 * parent directories), but may not be a symlink itself. Refuses, with InvalidArgument naming the
 * path: an empty or absolute path, a `..` segment, a NUL byte, and a path that leads outside the
 * data directory through a symlink (or is the data directory itself).
 */
export async function resolveDataPath(dataDir: string, rel: string, purpose: 'input' | 'output'): Promise<string> {
  const what = `${purpose === 'input' ? 'dataset' : 'output'} path ${JSON.stringify(rel)}`;
  if (rel === '') throw invalidArgument(`${what}: expected a path relative to the jobs data directory, got an empty one`);
  if (rel.includes('\0')) throw invalidArgument(`${what}: expected a path without NUL bytes, got one with`);
  if (path.isAbsolute(rel)) throw invalidArgument(`${what}: expected a path relative to the jobs data directory, got an absolute one`);
  if (rel.split(/[/\\]/).includes('..')) throw invalidArgument(`${what}: expected a path inside the jobs data directory, got one that leaves it`);

  let root: string;
  try {
    root = await realpath(dataDir);
  } catch (error) {
    throw new ModelServeError('FailedPrecondition', `the jobs data directory ${JSON.stringify(dataDir)} cannot be used: ${fsReason(error)}`, { cause: error });
  }
  const target = path.join(root, rel);
  const inside = (real: string): boolean => real.startsWith(root.endsWith(path.sep) ? root : root + path.sep);

  let real: string;
  if (purpose === 'input') {
    try {
      real = await realpath(target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw invalidArgument(`${what}: not found in the jobs data directory`);
      throw invalidArgument(`${what}: cannot be read: ${fsReason(error)}`);
    }
  } else {
    const stat = await lstat(target).catch(() => undefined);
    if (stat?.isSymbolicLink()) throw invalidArgument(`${what}: expected a file or directory to write, got a symlink`);
    real = await realOfNearest(target, root, what);
  }
  if (real === root) throw invalidArgument(`${what}: expected a path inside the jobs data directory, got the directory itself`);
  if (!inside(real)) throw invalidArgument(`${what}: expected a path inside the jobs data directory, got one that leads outside it through a symlink`);
  return real;
}

/** The real path of the nearest existing ancestor of `target` (itself included) with the rest appended. */
async function realOfNearest(target: string, root: string, what: string): Promise<string> {
  const missing: string[] = [];
  for (let at = target; ; at = path.dirname(at)) {
    try {
      return path.join(await realpath(at), ...[...missing].reverse());
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' || at === root) throw invalidArgument(`${what}: cannot be written: ${fsReason(error)}`);
      // A symlink to nothing: where it would lead is not known until something is there.
      if ((await lstat(at).catch(() => undefined)) !== undefined) throw invalidArgument(`${what}: expected a path inside the jobs data directory, got one through a symlink that leads nowhere`);
      missing.push(path.basename(at));
    }
  }
}

/** An fs error's code and text without the path (the caller names the path as the user gave it). */
function fsReason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code === undefined ? String(e.message ?? error) : `${e.code} (${e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')})`;
}
