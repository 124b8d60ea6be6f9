/**
 * Discovery: where the replicas are. A resolver reports the whole current list whenever it may
 * have changed; the client adds endpoints that appear and retires those that disappear (their
 * calls in flight finish first).
 */
import { lookup } from 'node:dns/promises';

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
