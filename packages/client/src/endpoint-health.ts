/**
 * The `grpc.health.v1` Watch of one endpoint. grpc-js does no client-side health checking (see
 * ../shared/FACTS.md), so the SDK watches every endpoint itself and re-opens a broken watch with
 * backoff.
 */
import { type Client, type ClientReadableStream, Metadata, status } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';

/** What the health watch says of an endpoint. */
export type HealthState = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'UNREACHABLE';

interface WatchMethod {
  path: string;
  requestSerialize(value: { service: string }): Buffer;
  responseDeserialize(bytes: Buffer): { status: string };
}

let watchMethod: WatchMethod | undefined;
function healthWatchMethod(): WatchMethod {
  watchMethod ??= (loadSync(healthProtoPath, { keepCase: true, enums: String, defaults: true })['grpc.health.v1.Health'] as unknown as Record<string, WatchMethod>)['Watch']!;
  return watchMethod;
}

/** First and longest wait before re-opening a broken watch, ms. */
const firstBackoffMs = 100;
const maxBackoffMs = 2000;

/**
 * Watches `service` on `client`'s channel and reports every change of state: SERVING or
 * NOT_SERVING as the server says; SERVING when the server has no health service (UNIMPLEMENTED);
 * UNREACHABLE while the watch is broken.
 */
export class HealthWatch {
  #call: ClientReadableStream<{ status: string }> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #backoffMs = firstBackoffMs;
  #stopped = false;

  constructor(
    private readonly client: Client,
    private readonly service: string,
    private readonly report: (state: HealthState) => void,
  ) {
    this.#open();
  }

  /** Cancels the watch for good. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#call?.cancel();
  }

  #open(): void {
    if (this.#stopped) return;
    const method = healthWatchMethod();
    const call = this.client.makeServerStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, { service: this.service }, new Metadata(), {});
    this.#call = call;
    let errored = false;
    call.on('data', (response: { status: string }) => {
      this.#backoffMs = firstBackoffMs;
      this.report(response.status === 'SERVING' ? 'SERVING' : 'NOT_SERVING');
    });
    call.on('error', (error: { code?: number }) => {
      errored = true;
      if (this.#stopped) return;
      // A server without the health service is taken as serving.
      if (error.code === status.UNIMPLEMENTED) return this.report('SERVING');
      // A server that cancels the watch (shutting down, or closing an aged connection) is asked
      // again before it is called unreachable: the next watch says which it was.
      if (error.code !== status.CANCELLED) this.report('UNREACHABLE');
      this.#retry();
    });
    // grpc-js also ends a call that failed: only an end without an error means the watch stopped.
    call.on('end', () => {
      if (errored || this.#stopped || this.#call !== call) return;
      this.report('UNREACHABLE');
      this.#retry();
    });
  }

  #retry(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#open(), this.#backoffMs);
    this.#retryTimer.unref();
    this.#backoffMs = Math.min(maxBackoffMs, this.#backoffMs * 2);
  }
}
