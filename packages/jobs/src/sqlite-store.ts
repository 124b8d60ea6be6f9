/**
 * The embedded job store: one SQLite file (`jobs.sqlite` under --jobs-dir) in WAL mode.
 *
 * - `jobs`: one row per job, its record as JSON beside the columns it is looked up by (state,
 *   model, idempotency key, unique).
 * - `inline_rows`: the encoded inline rows of a job submitted with them.
 * - `chunks`: one row per committed chunk (primary key job and chunk) with its encoded results.
 *
 * A chunk's commit is one transaction: the chunk's row is inserted only if absent, and only then
 * are the job's counters and first errors updated, so a chunk retried after a crash can never be
 * counted twice, and its results are never half written. `synchronous = NORMAL` with WAL keeps
 * every committed transaction through a crash of the process (kill -9); a power loss may lose
 * the last ones, which then run again. Commits never checkpoint (`wal_autocheckpoint = 0`): a
 * worker thread does, every second (sqlite-checkpointer.js), so its fsync never stalls the event
 * loop that answers online requests.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { type ChunkCommit, type JobRecord, type JobState, type JobStore, type ListFilter, mergeErrors } from './types.js';

interface JobRow {
  record: string;
}

const checkpointerUrl = new URL('./sqlite-checkpointer.js', import.meta.url);

/** A checkpoint the checkpointer thread made: WAL frames, and how many of them reached the database file. */
export interface Checkpoint {
  log: number;
  checkpointed: number;
}

export class SqliteJobStore implements JobStore {
  private readonly db: Database.Database;
  private readonly statements;
  private readonly checkpointer: Worker;
  /** Called on each checkpoint that found frames in the WAL. */
  onCheckpoint: ((checkpoint: Checkpoint) => void) | undefined;

  /** Opens (creating if needed) `<dir>/jobs.sqlite`; `checkpointMs` is how often the WAL is checkpointed. */
  constructor(dir: string, checkpointMs = 1000) {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'jobs.sqlite');
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('wal_autocheckpoint = 0');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        model TEXT NOT NULL,
        idempotency_key TEXT UNIQUE,
        record TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state);
      CREATE TABLE IF NOT EXISTS inline_rows (job_id TEXT PRIMARY KEY, data BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS chunks (
        job_id TEXT NOT NULL,
        chunk INTEGER NOT NULL,
        results BLOB NOT NULL,
        PRIMARY KEY (job_id, chunk)
      ) WITHOUT ROWID;
    `);
    this.statements = {
      insert: this.db.prepare('INSERT INTO jobs (id, state, model, idempotency_key, record) VALUES (?, ?, ?, ?, ?)'),
      byKey: this.db.prepare<[string], JobRow>('SELECT record FROM jobs WHERE idempotency_key = ?'),
      get: this.db.prepare<[string], JobRow>('SELECT record FROM jobs WHERE id = ?'),
      update: this.db.prepare('UPDATE jobs SET state = ?, record = ? WHERE id = ?'),
      active: this.db.prepare<[], { n: number }>("SELECT count(*) AS n FROM jobs WHERE state IN ('QUEUED', 'RUNNING')"),
      insertInline: this.db.prepare('INSERT INTO inline_rows (job_id, data) VALUES (?, ?)'),
      inline: this.db.prepare<[string], { data: Buffer }>('SELECT data FROM inline_rows WHERE job_id = ?'),
      insertChunk: this.db.prepare('INSERT OR IGNORE INTO chunks (job_id, chunk, results) VALUES (?, ?, ?)'),
      chunk: this.db.prepare<[string, number], { results: Buffer }>('SELECT results FROM chunks WHERE job_id = ? AND chunk = ?'),
      committed: this.db.prepare<[string], { chunk: number }>('SELECT chunk FROM chunks WHERE job_id = ?'),
    };
    this.checkpointer = new Worker(checkpointerUrl, { workerData: { path, intervalMs: checkpointMs } });
    this.checkpointer.unref();
    this.checkpointer.on('message', (message: Checkpoint | { error: string }) => {
      if ('log' in message) this.onCheckpoint?.(message);
    });
    // Without the thread, commits checkpoint again as SQLite does by default (every 1000 pages).
    this.checkpointerExited = new Promise((resolve) => this.checkpointer.once('exit', () => resolve()));
    this.checkpointer.on('error', () => {
      if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
    });
  }

  private readonly checkpointerExited: Promise<void>;

  private read(id: string): JobRecord | undefined {
    const row = this.statements.get.get(id);
    return row === undefined ? undefined : (JSON.parse(row.record) as JobRecord);
  }

  private write(job: JobRecord): void {
    this.statements.update.run(job.state, JSON.stringify(job), job.id);
  }

  create(job: JobRecord, inline?: Uint8Array): Promise<{ job: JobRecord; created: boolean }> {
    const create = this.db.transaction(() => {
      if (job.idempotencyKey !== undefined) {
        const existing = this.statements.byKey.get(job.idempotencyKey);
        if (existing !== undefined) return { job: JSON.parse(existing.record) as JobRecord, created: false };
      }
      this.statements.insert.run(job.id, job.state, job.model, job.idempotencyKey ?? null, JSON.stringify(job));
      if (inline !== undefined) this.statements.insertInline.run(job.id, inline);
      return { job, created: true };
    });
    return Promise.resolve(create.immediate());
  }

  get(id: string): Promise<JobRecord | undefined> {
    return Promise.resolve(this.read(id));
  }

  byIdempotencyKey(key: string): Promise<JobRecord | undefined> {
    const row = this.statements.byKey.get(key);
    return Promise.resolve(row === undefined ? undefined : (JSON.parse(row.record) as JobRecord));
  }

  list(filter: ListFilter): Promise<JobRecord[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.states !== undefined && filter.states.length > 0) {
      where.push(`state IN (${filter.states.map(() => '?').join(', ')})`);
      params.push(...filter.states);
    }
    if (filter.model !== undefined) {
      where.push('model = ?');
      params.push(filter.model);
    }
    if (filter.before !== undefined) {
      where.push('id < ?');
      params.push(filter.before);
    }
    const sql = `SELECT record FROM jobs ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    const rows = this.db.prepare<(string | number)[], JobRow>(sql).all(...params, filter.limit);
    return Promise.resolve(rows.map((r) => JSON.parse(r.record) as JobRecord));
  }

  countActive(): Promise<number> {
    return Promise.resolve(this.statements.active.get()!.n);
  }

  inline(id: string): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.statements.inline.get(id)?.data);
  }

  commit(commit: ChunkCommit): Promise<{ committed: boolean; job: JobRecord | undefined }> {
    const run = this.db.transaction(() => {
      const job = this.read(commit.jobId);
      if (job === undefined) return { committed: false, job };
      if (this.statements.insertChunk.run(commit.jobId, commit.chunk, commit.results).changes === 0) return { committed: false, job };
      job.rowsDone += commit.rowsOk;
      job.rowsFailed += commit.rowErrors.length;
      job.chunksDone += 1;
      job.errors = mergeErrors(job.errors, commit.rowErrors);
      this.write(job);
      return { committed: true, job };
    });
    return Promise.resolve(run.immediate());
  }

  results(id: string, chunk: number): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.statements.chunk.get(id, chunk)?.results);
  }

  committedChunks(id: string): Promise<Set<number>> {
    return Promise.resolve(new Set(this.statements.committed.all(id).map((r) => r.chunk)));
  }

  transition(id: string, from: readonly JobState[], to: JobState, patch?: Partial<Pick<JobRecord, 'startedMs' | 'finishedMs' | 'message'>>): Promise<JobRecord | undefined> {
    const run = this.db.transaction(() => {
      const job = this.read(id);
      if (job === undefined || !from.includes(job.state)) return undefined;
      const next: JobRecord = { ...job, ...patch, state: to };
      this.write(next);
      return next;
    });
    return Promise.resolve(run.immediate());
  }

  /** Stops the checkpointer after a last checkpoint, then closes the database. */
  async close(): Promise<void> {
    this.checkpointer.postMessage('close');
    await this.checkpointerExited;
    this.db.close();
  }
}
