import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { OutlierDetector } from './endpoint-ejection.js';
import { EndpointSet, type EndpointSetOptions } from './endpoint-set.js';
import type { Endpoint } from './endpoint.js';
import { RoundRobin } from './policies.js';
import { eventually, startServer, type TestServer } from './testing/servers.js';

const sets: EndpointSet[] = [];
const servers: TestServer[] = [];

/** A set of endpoints; without a health watch unless asked (then addresses need not be reachable). */
function endpointSet(options: Partial<EndpointSetOptions> & { healthCheck?: boolean } = {}): EndpointSet {
  const set = new EndpointSet({ picker: new RoundRobin(), endpoint: { healthCheck: options.healthCheck ?? false }, ...options });
  sets.push(set);
  return set;
}

async function server(): Promise<TestServer> {
  const s = await startServer();
  servers.push(s);
  return s;
}

const later = () => Date.now() + 60_000;
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);
const healthOf = (set: EndpointSet, address: string) => set.stats().find((e) => e.address === address)?.health;

afterEach(() => {
  for (const s of sets.splice(0)) s.close();
  for (const s of servers.splice(0)) s.stop();
});

describe('EndpointSet: discovery', () => {
  it('adds what discovery reports, retires what it drops, and keeps weights current', () => {
    const set = endpointSet();
    set.update([{ address: 'a:1' }, { address: 'b:1' }]);
    const [a, b] = [set.pickNow(undefined)!, set.pickNow(undefined)!];
    expect([a.address, b.address]).toEqual(['a:1', 'b:1']);
    a.started();
    set.update([{ address: 'b:1', weight: 3 }, { address: 'c:1' }]);
    expect(set.addresses).toEqual(['b:1', 'c:1']);
    expect(set.stats().map((e) => [e.address, e.weight])).toEqual([
      ['b:1', 3],
      ['c:1', 1],
    ]);
    // The same b, not a new channel; a is retired and takes no calls, even as the last resort.
    expect(set.pickNow(new Set([b]))?.address).toBe('c:1');
    expect(set.pickNow(new Set([a, b, set.pickNow(new Set([b]))!]))).not.toBe(a);
    expect(a.retired).toBe(true);
  });
});

describe('EndpointSet: picking', { timeout: 30_000 }, () => {
  it('picks endpoints not tried yet first, and tried ones when no other can take the call', () => {
    const set = endpointSet();
    set.update([{ address: 'a:1' }, { address: 'b:1' }]);
    const first = set.pickNow(undefined)!;
    const second = set.pickNow(new Set([first]))!;
    expect(second).not.toBe(first);
    expect([first, second]).toContain(set.pickNow(new Set([first, second])));
  });

  it('waits while an endpoint is still connecting, and picks it once it serves', async () => {
    const s = await server();
    const set = endpointSet({ healthCheck: true });
    set.update([{ address: s.address }]);
    expect(healthOf(set, s.address)).toBe('UNKNOWN');
    expect(set.pickNow(undefined)).toBeUndefined();
    const picked = await set.pick(later(), new Set(), undefined);
    expect([picked.address, picked.health]).toEqual([s.address, 'SERVING']);
  });

  it('fails fast with UNAVAILABLE, naming each state, when every endpoint is known to be down', async () => {
    const s = await server();
    s.setHealth('NOT_SERVING');
    const set = endpointSet({ healthCheck: true });
    set.update([{ address: s.address }]);
    await eventually(() => healthOf(set, s.address) === 'NOT_SERVING', 10_000, 'NOT_SERVING');
    expect(await failure(set.pick(later(), new Set(), undefined))).toMatchObject({
      code: status.UNAVAILABLE,
      details: `no endpoint can take calls: ${s.address} NOT_SERVING`,
    });
  });

  it('with waitForReady waits for a down endpoint to serve again', async () => {
    const s = await server();
    s.setHealth('NOT_SERVING');
    const set = endpointSet({ healthCheck: true, waitForReady: true });
    set.update([{ address: s.address }]);
    await eventually(() => healthOf(set, s.address) === 'NOT_SERVING', 10_000, 'NOT_SERVING');
    let picked: Endpoint | undefined;
    const picking = set.pick(later(), new Set(), undefined).then((e) => (picked = e));
    await new Promise((r) => setTimeout(r, 20));
    expect(picked).toBeUndefined();
    s.setHealth('SERVING');
    expect((await picking).address).toBe(s.address);
  });

  it('gives up with DEADLINE_EXCEEDED at the deadline, saying why: here, nothing resolved', async () => {
    const set = endpointSet();
    set.resolveFailed(new Error('lookup failed'));
    expect(await failure(set.pick(Date.now() + 20, new Set(), undefined))).toMatchObject({
      code: status.DEADLINE_EXCEEDED,
      details: 'the deadline passed before an endpoint could take the call: none resolved (lookup failed)',
    });
  });

  it('answers CANCELLED to a waiting pick when the caller aborts or the set closes', async () => {
    const set = endpointSet();
    const controller = new AbortController();
    const aborted = failure(set.pick(later(), new Set(), controller.signal));
    const closed = failure(set.pick(later(), new Set(), undefined));
    controller.abort();
    expect(await aborted).toMatchObject({ code: status.CANCELLED, details: 'cancelled by the caller' });
    set.close();
    expect(await closed).toMatchObject({ code: status.CANCELLED, details: 'the client is closed' });
  });
});

describe('EndpointSet: failures and ejection', { timeout: 30_000 }, () => {
  it('counts UNAVAILABLE, INTERNAL and UNKNOWN against an endpoint, not what the caller got wrong', () => {
    const set = endpointSet();
    set.update([{ address: 'a:1' }]);
    const a = set.pickNow(undefined)!;
    for (const code of [status.UNAVAILABLE, status.INTERNAL, status.UNKNOWN, status.INVALID_ARGUMENT, status.NOT_FOUND, undefined]) {
      a.started();
      set.finished(a, 1, code);
    }
    expect(set.stats()[0]).toMatchObject({ calls: 6, failures: 3, inflight: 0 });
  });

  it('ejects an endpoint whose calls keep failing, picks around it, and takes it back after the ejection', async () => {
    const set = endpointSet({ outlierDetector: new OutlierDetector({ consecutiveFailures: 2, baseEjectionMs: 50 }) });
    set.update([{ address: 'a:1' }, { address: 'b:1' }]);
    const a = set.pickNow(undefined)!;
    for (let i = 0; i < 2; i++) {
      a.started();
      set.finished(a, 1, status.UNAVAILABLE);
    }
    expect(set.stats().map((e) => e.ejected)).toEqual([true, false]);
    expect(new Set([set.pickNow(undefined), set.pickNow(undefined)].map((e) => e?.address))).toEqual(new Set(['b:1']));
    await eventually(() => !set.stats()[0]!.ejected, 10_000, 'the ejection to end');
    expect(new Set([set.pickNow(undefined), set.pickNow(undefined)].map((e) => e?.address))).toEqual(new Set(['a:1', 'b:1']));
  });
});
