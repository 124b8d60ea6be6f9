import { createServer } from 'node:net';

/**
 * A port on 127.0.0.1 that was free a moment ago, for servers that cannot listen on port 0 and
 * report the port (Prometheus, redis-server); their starters retry when it was taken meanwhile.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
