/**
 * File plumbing the dataset readers and writers share: exact reads at offsets, row range checks,
 * and results written under temporary names and renamed into place together.
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, rename, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { invalidArgument, ModelServeError } from '@modelserve/core';

/** Fills `bytes` from the file at `position`; a file that ends first is DataLoss (it shrank, or lied about its size). */
export async function readExactly(handle: FileHandle, bytes: Uint8Array, position: number, where: string): Promise<void> {
  for (let got = 0; got < bytes.length; ) {
    const { bytesRead } = await handle.read(bytes, got, bytes.length - got, position + got);
    if (bytesRead === 0) throw new ModelServeError('DataLoss', `${where}: the file ends at byte ${position + got}, expected ${position + bytes.length} bytes`);
    got += bytesRead;
  }
}

/** Refuses a row range that is not within [0, rows]. */
export function checkRange(start: number, end: number, rows: number, where: string): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end || end > rows) {
    throw new ModelServeError('OutOfRange', `${where}: rows [${start}, ${end}): expected a range within its ${rows} rows`);
  }
}

/**
 * Results files written under temporary names, made visible by `commit` (a rename each) or removed
 * by `discard`. A file target (`x.npy` and its `x.npy.errors.jsonl`) stages beside it. A directory
 * target that does not exist yet is staged whole as a hidden sibling and renamed into place; one
 * that exists stages its files inside it, so its other files stay.
 */
export class StagedFiles {
  private readonly temps = new Map<string, string>();
  private readonly stale = new Set<string>();
  private done = false;

  private constructor(
    /** Where the final files go. */
    private readonly dir: string,
    /** A whole directory staged: where it is until `commit`; undefined when files stage one by one. */
    private readonly stagedDir: string | undefined,
    /** The first directory created for the target's parents, removed by `discard` if left empty. */
    private readonly created: string | undefined,
  ) {}

  /** Files named relative to `dir` (which is created, with its parents, if missing). */
  static async inDirectory(dir: string, wholeDirectory: boolean): Promise<StagedFiles> {
    const exists = (await stat(dir).catch(() => undefined))?.isDirectory() ?? false;
    if (!wholeDirectory || exists) {
      const created = await mkdir(dir, { recursive: true });
      return new StagedFiles(dir, undefined, created);
    }
    const parent = path.dirname(dir);
    const created = await mkdir(parent, { recursive: true });
    const stagedDir = path.join(parent, `.${path.basename(dir)}.${randomBytes(6).toString('hex')}.tmp`);
    await mkdir(stagedDir);
    return new StagedFiles(dir, stagedDir, created);
  }

  /** Where to write `name` until `commit`. */
  path(name: string): string {
    let temp = this.temps.get(name);
    if (temp === undefined) {
      temp = this.stagedDir !== undefined ? path.join(this.stagedDir, name) : path.join(this.dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
      this.temps.set(name, temp);
    }
    return temp;
  }

  /** Removes `name` (a file a previous run left) at `commit`, unless it was written since. */
  removeAtCommit(name: string): void {
    this.stale.add(name);
  }

  /** Renames what was written into place, the first file staged (the data, before its errors) last. */
  async commit(): Promise<void> {
    for (const name of this.stale) if (!this.temps.has(name)) await rm(path.join(this.dir, name), { force: true });
    if (this.stagedDir !== undefined) await rename(this.stagedDir, this.dir);
    else for (const [name, temp] of [...this.temps].reverse()) await rename(temp, path.join(this.dir, name));
    // Only now: a commit that failed part-way leaves its remaining temporary files to `discard`.
    this.done = true;
  }

  /** Removes what was written, and the directories created for it if nothing else went there. */
  async discard(): Promise<void> {
    if (this.done) return;
    this.done = true;
    if (this.stagedDir !== undefined) await rm(this.stagedDir, { recursive: true, force: true });
    else for (const temp of this.temps.values()) await rm(temp, { force: true });
    if (this.created === undefined) return;
    for (let dir = this.stagedDir === undefined ? this.dir : path.dirname(this.dir); ; dir = path.dirname(dir)) {
      if (!(await rmdir(dir).then(() => true, () => false)) || dir === this.created) break;
    }
  }
}

/** Appends to a file through a buffer of 256 KiB (bytes are copied in, so callers may reuse theirs). */
export class FileSink {
  private readonly buffer = Buffer.allocUnsafe(1 << 18);
  private used = 0;
  private position = 0;

  private constructor(private readonly handle: FileHandle) {}

  /** Creates `file`, which must not exist (a temporary name). */
  static async create(file: string): Promise<FileSink> {
    return new FileSink(await open(file, 'wx'));
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (bytes.byteLength > this.buffer.length - this.used) {
      await this.flush();
      if (bytes.byteLength >= this.buffer.length) return this.writeAt(bytes);
    }
    this.buffer.set(bytes, this.used);
    this.used += bytes.byteLength;
  }

  async writeZeros(count: number): Promise<void> {
    while (count > 0) {
      const n = Math.min(count, this.buffer.length - this.used);
      this.buffer.fill(0, this.used, this.used + n);
      this.used += n;
      count -= n;
      if (this.used === this.buffer.length) await this.flush();
    }
  }

  private async flush(): Promise<void> {
    if (this.used === 0) return;
    await this.writeAt(this.buffer.subarray(0, this.used));
    this.used = 0;
  }

  private async writeAt(bytes: Uint8Array): Promise<void> {
    for (let done = 0; done < bytes.byteLength; ) {
      done += (await this.handle.write(bytes, done, bytes.byteLength - done, this.position + done)).bytesWritten;
    }
    this.position += bytes.byteLength;
  }

  /** Flushes, syncs to disk (the rename that follows makes the file visible) and closes. */
  async close(): Promise<void> {
    try {
      await this.flush();
      await this.handle.sync();
    } finally {
      await this.handle.close();
    }
  }

  /** Closes without flushing. */
  async abandon(): Promise<void> {
    this.used = 0;
    await this.handle.close().catch(() => undefined);
  }
}

/** The rows a results writer has taken: each once, consecutive from 0, `total` by its close. */
export class RowCursor {
  private next = 0;
  private ended = false;

  constructor(
    private readonly total: number,
    private readonly where: string,
  ) {}

  /** Takes the next row (refusing another), before it is written. */
  take(row: number): void {
    if (this.ended) throw new ModelServeError('FailedPrecondition', `${this.where}: written after it was closed or aborted`);
    if (row !== this.next) throw invalidArgument(`${this.where}: expected row ${this.next} next, got row ${row}`);
    if (row >= this.total) throw invalidArgument(`${this.where}: expected ${this.total} rows, got row ${row}`);
    this.next++;
  }

  /** Ends the writing: every row must have been taken (for close), or none matters (for abort). */
  end(complete: boolean): void {
    if (this.ended && complete) throw new ModelServeError('FailedPrecondition', `${this.where}: closed after it was closed or aborted`);
    this.ended = true;
    if (complete && this.next !== this.total) throw new ModelServeError('FailedPrecondition', `${this.where}: expected ${this.total} rows, got ${this.next}`);
  }
}
