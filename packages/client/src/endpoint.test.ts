import { connectivityState } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { Endpoint } from './endpoint.js';
import { eventually, startServer, type TestServer } from './testing/servers.js';

const servers: TestServer[] = [];
const endpoints: Endpoint[] = [];

async function server(options?: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const s = await startServer(options);
  servers.push(s);
  return s;
}

/** An endpoint that counts the changes it reports in `changes`. */
function endpoint(address: string, options: { healthCheck?: boolean } = {}): Endpoint & { changes: number } {
  const counted = { changes: 0 };
  const e = new Endpoint(address, 1, { ...options, onChange: () => counted.changes++ });
  endpoints.push(e);
  return Object.defineProperty(e, 'changes', { get: () => counted.changes }) as Endpoint & { changes: number };
}

afterEach(() => {
  for (const e of endpoints.splice(0)) e.close();
  for (const s of servers.splice(0)) s.stop();
});

describe('Endpoint health (grpc.health.v1 Watch)', { timeout: 30_000 }, () => {
  it('is UNKNOWN until the watch answers, then SERVING, and says so', async () => {
    const s = await server();
    const e = endpoint(s.address);
    expect([e.health, e.eligible(performance.now())]).toEqual(['UNKNOWN', false]);
    await eventually(() => e.health === 'SERVING', 10_000, 'SERVING');
    expect(e.eligible(performance.now())).toBe(true);
    expect(e.changes).toBe(1);
  });

  it('follows the server to NOT_SERVING and back', async () => {
    const s = await server();
    const e = endpoint(s.address);
    await eventually(() => e.health === 'SERVING', 10_000, 'SERVING');
    s.setHealth('NOT_SERVING');
    await eventually(() => e.health === 'NOT_SERVING', 10_000, 'NOT_SERVING');
    expect(e.eligible(performance.now())).toBe(false);
    s.setHealth('SERVING');
    await eventually(() => e.health === 'SERVING', 10_000, 'SERVING again');
  });

  it('takes a server without the health service as SERVING', async () => {
    const s = await server({ health: false });
    const e = endpoint(s.address);
    await eventually(() => e.health === 'SERVING', 10_000, 'SERVING');
  });

  it('is UNREACHABLE once the server has gone away (grpc-js cancels the watch as it shuts down)', async () => {
    const s = await server();
    const e = endpoint(s.address);
    await eventually(() => e.health === 'SERVING', 10_000, 'SERVING');
    s.stop();
    await eventually(() => e.health === 'UNREACHABLE', 10_000, 'UNREACHABLE');
    expect(e.eligible(performance.now())).toBe(false);
  });

  it('without a health watch is SERVING from the start', () => {
    const e = endpoint('127.0.0.1:1', { healthCheck: false });
    expect([e.health, e.eligible(performance.now())]).toEqual(['SERVING', true]);
  });
});

describe('Endpoint counters', () => {
  it('counts calls in flight, answers, failures and failures in a row; latency only from successes', () => {
    const e = endpoint('127.0.0.1:1', { healthCheck: false });
    e.started();
    e.started();
    expect(e.inflight).toBe(2);
    e.finished(5, true);
    e.finished(1000, true);
    expect({ inflight: e.inflight, calls: e.calls, failures: e.failures, consecutiveFailures: e.consecutiveFailures, latencyMs: e.latencyMs }).toEqual({
      inflight: 0,
      calls: 2,
      failures: 2,
      consecutiveFailures: 2,
      latencyMs: 0,
    });
    e.started();
    e.finished(7, false);
    expect({ consecutiveFailures: e.consecutiveFailures, latencyMs: e.latencyMs }).toEqual({ consecutiveFailures: 0, latencyMs: 7 });
  });

  it('once retired takes no calls, and closes its channel when its last call ends', () => {
    const e = endpoint('127.0.0.1:1', { healthCheck: false });
    e.started();
    e.retire();
    expect(e.eligible(performance.now())).toBe(false);
    expect(e.client.getChannel().getConnectivityState(false)).not.toBe(connectivityState.SHUTDOWN);
    e.finished(1, false);
    expect(e.client.getChannel().getConnectivityState(false)).toBe(connectivityState.SHUTDOWN);
  });
});
