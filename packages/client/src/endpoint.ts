/**
 * One replica: its own grpc-js channel, a `grpc.health.v1` watch on it, and the counters the
 * policies and the outlier detector read. grpc-js does no client-side health checking (see
 * ../shared/FACTS.md), so the SDK does it here.
 */
import { credentials as grpcCredentials, status, type ChannelCredentials, type ChannelOptions, Client, type ClientReadableStream, Metadata } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { PeakEwmaLatency, type EndpointView } from './policies.js';

/** What the health watch says of an endpoint. */
export type HealthState = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'UNREACHABLE';

interface Method<Req, Res> {
  path: string;
  requestSerialize(value: Req): Buffer;
  responseDeserialize(bytes: Buffer): Res;
}

let watchMethod: Method<{ service: string }, { status: string }> | undefined;
function healthWatch(): Method<{ service: string }, { status: string }> {
  if (watchMethod === undefined) {
    const definition = loadSync(healthProtoPath, { keepCase: true, enums: String, defaults: true });
    watchMethod = (definition['grpc.health.v1.Health'] as unknown as Record<string, Method<{ service: string }, { status: string }>>)['Watch']!;
  }
  return watchMethod;
}

/** Options of an endpoint's channel and health watch. */
export interface EndpointOptions {
  credentials?: ChannelCredentials;
  channelOptions?: ChannelOptions;
  /** The grpc.health.v1 service name to watch; "" (default) is the whole server. */
  healthService?: string;
  /** False: no health watch, the endpoint counts as SERVING while reachable. Default true. */
  healthCheck?: boolean;
  /** Decay of the latency average, ms. Default 10 s. */
  latencyDecayMs?: number;
  /** Called whenever the endpoint may have become (in)eligible. */
  onChange(): void;
}

export class Endpoint implements EndpointView {
  readonly client: Client;
  weight: number;
  inflight = 0;
  health: HealthState;
  /** Failures in a row (UNAVAILABLE, INTERNAL, broken connections). */
  consecutiveFailures = 0;
  /** Ejected by outlier detection until this `performance.now()` time. */
  ejectedUntil = 0;
  /** Ejections since it last served well; each doubles the next ejection time. */
  ejections = 0;
  /** Calls answered (with outputs or any status) and failures, since it was added. */
  calls = 0;
  failures = 0;
  /** Removed from discovery: takes no new calls, closes when its calls finish. */
  retired = false;
  private readonly latency: PeakEwmaLatency;
  private watch: ClientReadableStream<{ status: string }> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private watchBackoffMs = 100;
  private closed = false;

  constructor(
    readonly address: string,
    weight: number,
    private readonly options: EndpointOptions,
  ) {
    this.weight = weight;
    this.client = new Client(address, options.credentials ?? grpcCredentials.createInsecure(), options.channelOptions ?? {});
    this.latency = new PeakEwmaLatency(options.latencyDecayMs);
    this.health = options.healthCheck === false ? 'SERVING' : 'UNKNOWN';
    if (options.healthCheck !== false) this.startWatch();
  }

  get latencyMs(): number {
    return this.latency.ms;
  }

  /** May take a new call now. */
  eligible(now: number): boolean {
    return !this.retired && !this.closed && this.health === 'SERVING' && this.ejectedUntil <= now;
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
      this.latency.observe(ms);
    }
    if (this.retired && this.inflight === 0) this.close();
  }

  /** Stops the health watch and closes the channel. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.watch?.cancel();
    this.client.close();
  }

  private setHealth(health: HealthState): void {
    if (health === this.health) return;
    this.health = health;
    this.options.onChange();
  }

  private startWatch(): void {
    if (this.closed) return;
    const method = healthWatch();
    const call = this.client.makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      { service: this.options.healthService ?? '' },
      new Metadata(),
      {},
    );
    this.watch = call;
    let errored = false;
    call.on('data', (response: { status: string }) => {
      this.watchBackoffMs = 100;
      this.setHealth(response.status === 'SERVING' ? 'SERVING' : 'NOT_SERVING');
    });
    call.on('error', (error: { code?: number }) => {
      errored = true;
      if (this.closed || error.code === status.CANCELLED) return;
      // A server without the health service is taken as serving; anything else as unreachable.
      if (error.code === status.UNIMPLEMENTED) {
        this.setHealth('SERVING');
        return;
      }
      this.setHealth('UNREACHABLE');
      this.retryWatch();
    });
    // grpc-js also ends a call that failed: only an end without an error means the watch stopped.
    call.on('end', () => {
      if (!errored && !this.closed && this.watch === call) {
        this.setHealth('UNREACHABLE');
        this.retryWatch();
      }
    });
  }

  private retryWatch(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.startWatch(), this.watchBackoffMs);
    this.retryTimer.unref();
    this.watchBackoffMs = Math.min(2000, this.watchBackoffMs * 2);
  }
}
