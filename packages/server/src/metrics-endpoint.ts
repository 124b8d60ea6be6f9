/** The Prometheus endpoint: `GET /metrics` over plain HTTP on a port of its own. */
import { createServer, type Server } from 'node:http';
import type { Logger } from '@modelserve/core';
import type { Metrics } from '@modelserve/telemetry';

/** A listening metrics endpoint. */
export interface MetricsEndpoint {
  /** `host:port` to scrape. */
  readonly address: string;
  close(): Promise<void>;
}

/** Serves `metrics` at `http://host:port/metrics` (port 0: a free one); 404 elsewhere, 405 for other methods. */
export async function serveMetrics(metrics: Metrics, host: string, port: number, logger: Logger): Promise<MetricsEndpoint> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end(`expected GET or HEAD, got ${request.method}\n`);
      return;
    }
    metrics.text().then(
      (text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(request.method === 'HEAD' ? undefined : text),
      (error: unknown) => {
        logger.error({ err: error }, 'metrics collection failed');
        response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const boundPort = typeof bound === 'object' && bound !== null ? bound.port : port;
  const dialHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return {
    address: dialHost.includes(':') ? `[${dialHost}]:${boundPort}` : `${dialHost}:${boundPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
