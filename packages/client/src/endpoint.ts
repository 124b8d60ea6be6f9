/**
 * One replica: its own grpc-js channel, its health (watched by endpoint-health.ts), and the
 * counters the policies and the outlier detector read.
 */
import { credentials as grpcCredentials, Client, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { HealthWatch, type HealthState } from './endpoint-health.js';
import type { EjectionState } from './endpoint-ejection.js';
import { PeakEwmaLatency, type EndpointView } from './policies.js';

export type { HealthState } from './endpoint-health.js';

/** Options of an endpoint's channel and health watch. */
export interface EndpointOptions {
  /** Default insecure (plaintext). */
  credentials?: ChannelCredentials | undefined;
  channelOptions?: ChannelOptions | undefined;
  /** The grpc.health.v1 service name to watch; "" (default) is the whole server. */
  healthService?: string | undefined;
  /** False: no health watch, the endpoint counts as SERVING while reachable. Default true. */
  healthCheck?: boolean | undefined;
  /** Decay of the latency average, ms. Default 10 s. */
  latencyDecayMs?: number | undefined;
  /** Called whenever the endpoint may have become (in)eligible. */
  onChange(): void;
}

/** One replica as the client sees it. */
export class Endpoint implements EndpointView, EjectionState {
  readonly client: Client;
  weight: number;
  inflight = 0;
  health: HealthState;
  consecutiveFailures = 0;
  ejectedUntil = 0;
  ejections = 0;
  /** Calls answered (with outputs or any status) and failures, since it was added. */
  calls = 0;
  failures = 0;
  /** Removed from discovery: takes no new calls, closes when its calls finish. */
  retired = false;
  readonly #latency: PeakEwmaLatency;
  readonly #watch: HealthWatch | undefined;
  #closed = false;

  constructor(
    readonly address: string,
    weight: number,
    private readonly options: EndpointOptions,
  ) {
    this.weight = weight;
    this.client = new Client(address, options.credentials ?? grpcCredentials.createInsecure(), options.channelOptions ?? {});
    this.#latency = new PeakEwmaLatency(options.latencyDecayMs);
    this.health = options.healthCheck === false ? 'SERVING' : 'UNKNOWN';
    this.#watch = options.healthCheck === false ? undefined : new HealthWatch(this.client, options.healthService ?? '', (health) => this.#setHealth(health));
  }

  get latencyMs(): number {
    return this.#latency.ms;
  }

  /** May take a new call at `now` (`performance.now()` time). */
  eligible(now: number): boolean {
    return !this.retired && !this.#closed && this.health === 'SERVING' && this.ejectedUntil <= now;
  }

  /** A call was sent. */
  started(): void {
    this.inflight++;
  }

  /** A call ended after `ms`; `failed` when it counts against the endpoint. */
  finished(ms: number, failed: boolean): void {
    this.inflight--;
    this.calls++;
    if (failed) {
      this.failures++;
      this.consecutiveFailures++;
    } else {
      this.consecutiveFailures = 0;
      this.#latency.observe(ms);
    }
    if (this.retired && this.inflight === 0) this.close();
  }

  /** Takes it out of discovery: no new calls; the channel closes once the calls in flight end. */
  retire(): void {
    this.retired = true;
    if (this.inflight === 0) this.close();
  }

  /** Stops the health watch and closes the channel. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch?.stop();
    this.client.close();
  }

  #setHealth(health: HealthState): void {
    if (health === this.health) return;
    this.health = health;
    this.options.onChange();
  }
}
