/**
 * The progress line on stderr: a bar redrawn in place on a terminal, one plain line per step
 * otherwise (CI logs, pipes), so stdout keeps only the report.
 */

const BAR = 24;

/** Reports the run's steps: each has a label and an expected duration. */
export class Progress {
  private done = 0;
  private label = '';
  private stepStarted = 0;
  private stepMs = 0;
  private detail = '';
  private timer: NodeJS.Timeout | undefined;
  private readonly started = Date.now();

  constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly tty: boolean = Boolean(process.stderr.isTTY),
  ) {}

  /** Starts a step expected to take about `expectedMs`. */
  step(label: string, expectedMs: number): void {
    this.label = label;
    this.stepStarted = Date.now();
    this.stepMs = expectedMs;
    this.detail = '';
    if (!this.tty) {
      this.stream.write(`[${Math.min(this.done + 1, this.total)}/${this.total}] ${label}\n`);
      return;
    }
    this.timer ??= setInterval(() => this.draw(), 200);
    this.draw();
  }

  /** A live detail of the current step, e.g. requests answered so far. */
  note(detail: string): void {
    this.detail = detail;
  }

  /** Ends the current step with a one-line result. */
  finish(result: string): void {
    this.done++;
    this.detail = '';
    this.line(`  ${this.label}: ${result}`);
  }

  /** Prints a message above the bar. */
  line(text: string): void {
    if (this.tty) {
      this.clear();
      this.stream.write(`${text}\n`);
      this.draw();
    } else this.stream.write(`${text}\n`);
  }

  /** Removes the bar for good. */
  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty) this.clear();
    const seconds = Math.round((Date.now() - this.started) / 1000);
    this.stream.write(`bench: ${this.done} steps in ${seconds} s\n`);
  }

  /** The bar for `fraction` of the run done. */
  static bar(fraction: number, width = BAR): string {
    const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
    return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  }

  private clear(): void {
    this.stream.write('\r\x1b[2K');
  }

  private draw(): void {
    if (this.total === 0 || this.label === '') return;
    const within = this.stepMs > 0 ? Math.min(0.99, (Date.now() - this.stepStarted) / this.stepMs) : 0;
    const fraction = (this.done + within) / this.total;
    const text = `${Progress.bar(fraction)} ${this.done}/${this.total} ${this.label}${this.detail === '' ? '' : ` (${this.detail})`}`;
    const width = this.stream.columns ?? 100;
    this.clear();
    this.stream.write(text.length > width - 1 ? text.slice(0, width - 1) : text);
  }
}
