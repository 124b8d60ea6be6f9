/**
 * A job's progress for a person: percent, rows done, failed and total, rows per second over the
 * last few seconds and the time left; a bar redrawn in place on a terminal, a line per update elsewhere.
 */
import type { Job__Output } from '@modelserve/proto';

/** A job state without the enum's prefix, as the commands print it: `RUNNING`. */
export const stateName = (state: string): string => state.replace(/^JOB_STATE_/, '');

/** Rows answered (done or failed) of a job. */
export const rowsAnswered = (job: Job__Output): number => Number(job.rows_done) + Number(job.rows_failed);

/** How much of a job is answered, in percent with one decimal: `42.5%`. */
export function percentDone(job: Job__Output): string {
  const total = Number(job.rows_total);
  return `${total === 0 ? '0.0' : ((100 * rowsAnswered(job)) / total).toFixed(1)}%`;
}

/** Seconds for people: `12s`, `3m 05s`, `2h 07m`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * Rows per second over a sliding window: from the oldest sample at most `windowMs` old (and the
 * one just before it, so the window is full once a job has run that long) to the newest.
 */
export class RowRate {
  private readonly samples: Array<{ ms: number; rows: number }> = [];

  constructor(private readonly windowMs = 5000) {}

  add(ms: number, rows: number): void {
    this.samples.push({ ms, rows });
    while (this.samples.length > 2 && this.samples[1]!.ms <= ms - this.windowMs) this.samples.shift();
  }

  /** Undefined until two samples a quarter of a second apart. */
  perSecond(): number | undefined {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (first === undefined || last === undefined || last.ms - first.ms < 250) return undefined;
    return ((last.rows - first.rows) * 1000) / (last.ms - first.ms);
  }
}

const barWidth = 24;

/** One line of progress: `[######..........]  42.5%  425/1000 rows, 3 failed  812 rows/s  0m 43s left`. */
export function progressLine(job: Job__Output, rowsPerSecond: number | undefined, bar: boolean): string {
  const total = Number(job.rows_total);
  const answered = rowsAnswered(job);
  const filled = total === 0 ? 0 : Math.min(barWidth, Math.floor((barWidth * answered) / total));
  const parts = [
    ...(bar ? [`[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]`] : []),
    stateName(job.state),
    percentDone(job),
    `${answered}/${total} rows, ${job.rows_failed} failed`,
  ];
  if (stateName(job.state) === 'RUNNING' || stateName(job.state) === 'QUEUED') {
    const rate = rowsPerSecond === undefined ? undefined : Math.max(0, rowsPerSecond);
    parts.push(rate === undefined ? '- rows/s' : `${Math.round(rate)} rows/s`);
    parts.push(rate === undefined || rate === 0 ? 'time left unknown' : `${duration((total - answered) / rate)} left`);
  }
  return parts.join('  ');
}

/**
 * Shows a watched job's progress on `out` (stderr): on a terminal, one line redrawn in place, at
 * most ten times a second and every second (so the rate and the time left stay current);
 * elsewhere, a line per update, at most one a second. A change of state is always shown at once.
 */
export class ProgressDisplay {
  private readonly rate = new RowRate();
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private last: Job__Output | undefined;
  private shownMs = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {
    this.tty = out.isTTY === true;
    this.intervalMs = this.tty ? 100 : 1000;
  }

  update(job: Job__Output, now = Date.now()): void {
    if (this.last === undefined && Number(job.started_unix_ms) > 0 && now > Number(job.started_unix_ms)) {
      // Joining a job that is running: its average so far is the first estimate.
      this.rate.add(Number(job.started_unix_ms), 0);
    }
    const stateChanged = this.last?.state !== job.state;
    this.last = job;
    this.rate.add(now, rowsAnswered(job));
    if (!stateChanged && now - this.shownMs < this.intervalMs) return;
    this.shownMs = now;
    if (!this.tty) {
      this.out.write(`${new Date(now).toISOString()}  ${progressLine(job, this.rate.perSecond(), false)}\n`);
      return;
    }
    this.draw();
    this.timer ??= setInterval(() => {
      if (this.last !== undefined) this.rate.add(Date.now(), rowsAnswered(this.last));
      this.draw();
    }, 1000).unref();
  }

  /** Ends the display (a terminal's line is kept). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty && this.last !== undefined) {
      this.draw();
      this.out.write('\n');
    }
  }

  private draw(): void {
    if (this.last !== undefined) this.out.write(`\r\x1b[K${progressLine(this.last, this.rate.perSecond(), true)}`);
  }
}
