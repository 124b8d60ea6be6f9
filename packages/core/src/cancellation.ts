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
  private listeners: Set<() => void> | undefined;
  private done = false;

  get aborted(): boolean {
    return this.done;
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.done) return;
    (this.listeners ??= new Set()).add(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    this.listeners?.delete(listener);
  }

  /** Marks the signal aborted and calls each listener once; later calls do nothing. */
  cancel(): void {
    if (this.done) return;
    this.done = true;
    const listeners = this.listeners;
    this.listeners = undefined;
    listeners?.forEach((listener) => listener());
  }
}
