/**
 * Discovery: where the replicas are. A resolver reports the whole current list whenever it may
 * have changed; the client adds endpoints that appear and retires those that disappear (their
 * calls in flight finish first).
 */
import { lookup } from 'node:dns/promises';
import { Client, credentials as grpcCredentials, Metadata, type ChannelCredentials, type ChannelOptions, type ClientReadableStream } from '@grpc/grpc-js';
import { loadPackageDefinition, type ListReplicasResponse__Output } from '@modelserve/proto';

/** One replica: `host:port` (IPv6 as `[::1]:8001`) and its weight for weighted_round_robin. */
export interface ResolvedEndpoint {
  address: string;
  /** Default 1. */
  weight?: number;
}

/** A source of endpoints. `start` reports the list (now and on every change) until `stop`. */
export interface Resolver {
  start(update: (endpoints: ResolvedEndpoint[]) => void, fail: (error: Error) => void): void;
  stop(): void;
}

/** A fixed list. */
export function staticResolver(endpoints: ReadonlyArray<string | ResolvedEndpoint>): Resolver {
  const list = endpoints.map((e) => (typeof e === 'string' ? { address: e } : e));
  return {
    start: (update) => update(list),
    stop: () => undefined,
  };
}

/**
 * Asks `lookup` every `intervalMs` (default 5 s) and reports the list when it changed: for
 * registries other than DNS (a file, an HTTP service, Kubernetes endpoints). A failed lookup keeps
 * the last list and is reported to `fail`.
 */
export function pollingResolver(lookupEndpoints: () => Promise<ResolvedEndpoint[]>, intervalMs = 5000): Resolver {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let last = '';
  return {
    start(update, fail) {
      const poll = async (): Promise<void> => {
        try {
          const endpoints = await lookupEndpoints();
          const key = JSON.stringify([...endpoints].sort((a, b) => a.address.localeCompare(b.address)));
          if (!stopped && key !== last) {
            last = key;
            update(endpoints);
          }
        } catch (error) {
          if (!stopped) fail(error as Error);
        }
        if (!stopped) {
          timer = setTimeout(() => void poll(), intervalMs);
          timer.unref();
        }
      };
      void poll();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** `dns:///host:port` or `dns:host:port` → host and port; undefined if `target` is not a dns: target. */
export function parseDnsTarget(target: string): { host: string; port: number } | undefined {
  const match = /^dns:(?:\/\/[^/]*\/)?(.+)$/.exec(target);
  if (match === null) return undefined;
  const hostPort = match[1]!;
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(hostPort);
  const plain = /^([^:]+):(\d+)$/.exec(hostPort);
  const [host, port] = bracketed ? [bracketed[1]!, bracketed[2]!] : plain ? [plain[1]!, plain[2]!] : [hostPort, '8001'];
  return { host, port: Number(port) };
}

/**
 * `dns:///host:port` resolved to every address of `host`, again every `intervalMs` (default 5 s):
 * grpc-js's own DNS resolver looks again only when a connection drops, so replicas added behind a
 * name (a Kubernetes headless service) would stay unseen.
 */
export function dnsResolver(target: string, intervalMs = 5000): Resolver {
  const parsed = parseDnsTarget(target);
  if (parsed === undefined) throw new TypeError(`not a dns: target: '${target}' (expected dns:///host:port)`);
  const { host, port } = parsed;
  return pollingResolver(async () => {
    const addresses = await lookup(host, { all: true });
    return addresses.map((a) => ({ address: a.family === 6 ? `[${a.address}]:${port}` : `${a.address}:${port}` }));
  }, intervalMs);
}

/** Options of `supervisorResolver`. */
export interface SupervisorResolverOptions {
  /** Channel credentials to the supervisor. Default insecure (plaintext). */
  credentials?: ChannelCredentials;
  channelOptions?: ChannelOptions;
  /** First and longest wait before re-opening a failed watch, ms. Default 100 and 5000. */
  firstBackoffMs?: number;
  maxBackoffMs?: number;
}

interface WatchMethod {
  path: string;
  requestSerialize(value: object): Buffer;
  responseDeserialize(bytes: Buffer): ListReplicasResponse__Output;
}

let watchReplicasMethod: WatchMethod | undefined;
function watchReplicas(): WatchMethod {
  watchReplicasMethod ??= (loadPackageDefinition() as unknown as Record<string, Record<string, WatchMethod>>)['modelserve.v1.Cluster']!['WatchReplicas']!;
  return watchReplicasMethod;
}

/**
 * The READY replicas of a `modelserve cluster` supervisor at `address` (its --port, 8000 by
 * default): follows `modelserve.v1.Cluster/WatchReplicas` and reports the list whenever the READY
 * addresses change (STARTING and DRAINING replicas are left out, so a draining replica leaves the
 * client before it is sent SIGTERM). A watch that fails or ends is reported to `fail` and re-opened
 * with backoff; the last list stays meanwhile.
 */
export function supervisorResolver(address: string, options: SupervisorResolverOptions = {}): Resolver {
  const firstBackoffMs = options.firstBackoffMs ?? 100;
  const maxBackoffMs = options.maxBackoffMs ?? 5000;
  let client: Client | undefined;
  let call: ClientReadableStream<ListReplicasResponse__Output> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let backoffMs = firstBackoffMs;
  let stopped = false;
  let last: string | undefined;
  return {
    start(update, fail) {
      client = new Client(address, options.credentials ?? grpcCredentials.createInsecure(), options.channelOptions ?? {});
      const method = watchReplicas();
      const open = (): void => {
        if (stopped) return;
        const current = client!.makeServerStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, {}, new Metadata(), {});
        call = current;
        let failed = false;
        const retry = (error: Error): void => {
          if (failed || stopped || call !== current) return;
          failed = true;
          fail(error);
          timer = setTimeout(open, backoffMs);
          timer.unref();
          backoffMs = Math.min(maxBackoffMs, backoffMs * 2);
        };
        current.on('data', (response: ListReplicasResponse__Output) => {
          backoffMs = firstBackoffMs;
          const endpoints = response.replicas.filter((r) => r.state === 'REPLICA_STATE_READY' && r.address !== '').map((r) => ({ address: r.address }));
          const key = endpoints.map((e) => e.address).sort().join(',');
          if (stopped || key === last) return;
          last = key;
          update(endpoints);
        });
        current.on('error', (error: Error & { details?: string }) => retry(new Error(`supervisor ${address}: WatchReplicas failed: ${error.details ?? error.message}`)));
        // grpc-js also ends a call that failed: an end alone means the supervisor closed the watch (it is stopping).
        current.on('end', () => retry(new Error(`supervisor ${address}: WatchReplicas ended`)));
      };
      open();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      call?.cancel();
      client?.close();
    },
  };
}
