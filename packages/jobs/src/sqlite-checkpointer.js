/**
 * The job store's checkpointer, on its own thread: copies the WAL's committed pages into the
 * database file every `intervalMs` (`wal_checkpoint(PASSIVE)`: it waits for no reader or writer).
 * A checkpoint ends in an fsync that took up to 17 ms here; SQLite's automatic checkpoint would
 * run it inside a commit, on the event loop's thread, where online requests wait for it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** @type {{ path: string; intervalMs: number }} */
const { path, intervalMs } = workerData;
const db = new Database(path);
db.pragma('busy_timeout = 5000');

function checkpoint() {
  try {
    const [result] = /** @type {Array<{ busy: number; log: number; checkpointed: number }>} */ (db.pragma('wal_checkpoint(PASSIVE)'));
    if (result !== undefined && result.log > 0) parentPort?.postMessage({ log: result.log, checkpointed: result.checkpointed });
  } catch (error) {
    // Busy or locked: the next interval tries again.
    parentPort?.postMessage({ error: String(error) });
  }
}

const timer = setInterval(checkpoint, intervalMs);
parentPort?.on('message', (message) => {
  if (message !== 'close') return;
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort?.close();
});
