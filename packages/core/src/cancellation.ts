/**
 * Cancellation of queued work. Core needs only `aborted` and one 'abort' listener per queued job,
 * so it asks for that much: an `AbortSignal` fits, and so does `Cancellation`, which servers create
 * per call. An `AbortController` costs an `EventTarget` per call and removes listeners in linear
 * time; on a stream with hundreds of queued requests sharing one signal that adds up.
 */

/** What core reads from a cancellation signal; `AbortSignal` satisfies it. */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** A light `AbortController` and signal in one: `cancel()` once, listeners called once, in order. */
export class Cancellation implements CancelSignal {
  // A unary call's signal has one listener at a time (its queued request): kept in a field, a Set
  // only beyond that (a stream's signal, shared by its queued requests).
  private listener: (() => void) | undefined;
  private listeners: Set<() => void> | undefined;
  private done = false;

  get aborted(): boolean {
    return this.done;
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.done) return;
    if (this.listener === undefined && this.listeners === undefined) this.listener = listener;
    else {
      this.listeners ??= new Set(this.listener === undefined ? [] : [this.listener]);
      this.listener = undefined;
      this.listeners.add(listener);
    }
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    if (this.listener === listener) this.listener = undefined;
    else this.listeners?.delete(listener);
  }

  /** Marks the signal aborted and calls each listener once; later calls do nothing. */
  cancel(): void {
    if (this.done) return;
    this.done = true;
    const { listener, listeners } = this;
    this.listener = undefined;
    this.listeners = undefined;
    listener?.();
    listeners?.forEach((l) => l());
  }
}
