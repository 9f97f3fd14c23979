// A worker process's own /metrics, on WORKER_METRICS_PORT: its jobs' wait and processing times,
// provider calls, retries, dead letters, breaker transitions, relay and reconciler counts, each
// counter with a series for every job from the start. The queues' depth and workers, and the
// outbox's backlog, are served once, by the web's /api/metrics, since every process would read the
// same numbers. Same token rule as the web: METRICS_TOKEN, when set, is required as a bearer
// token. Each worker process needs its own port on a host; in the compose file each container has
// its own network, so all use 9464 and Prometheus finds them by DNS.
//
// GET /healthz answers `ok` to anyone while the event loop serves: the liveness signal of compose's
// healthcheck and the Kubernetes probes, which cannot send the token. It reaches neither Valkey nor
// PostgreSQL on purpose: the worker waits out a store outage and reconnects, and a check that
// failed with the store would have every worker restarted at once, for nothing.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@/lib/log';
import type { Metrics } from '@/lib/metrics';
import { exposition, isAuthorizedScrape } from '@/lib/metrics-scrape';
import { ALL_JOBS } from '@/workers/jobs/job-contracts';

export interface MetricsServer {
  /** The port it listens on (the one asked for, or the one picked for 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * Listens on every interface, since Prometheus scrapes from another container. Resolves undefined
 * when the port is taken: a worker without its metrics still does its work.
 */
export async function startMetricsServer({
  port,
  token,
  metrics,
  log,
}: {
  port: number;
  token: string | undefined;
  metrics: Metrics;
  log: Logger;
}): Promise<MetricsServer | undefined> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://worker').pathname;
    if (request.method === 'GET' && path === '/healthz') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
      return;
    }
    if (!isAuthorizedScrape(request.headers.authorization, token)) {
      response.writeHead(401, { 'www-authenticate': 'Bearer realm="metrics"' }).end('Unauthorized\n');
      return;
    }
    exposition(metrics, { jobs: ALL_JOBS }).then(
      (text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (error: unknown) => {
        log.error('metrics: could not render the registry', { error: error instanceof Error ? error.message : String(error) });
        response.writeHead(500).end();
      },
    );
  });

  try {
    server.listen(port);
    await once(server, 'listening');
  } catch (error) {
    log.warn('metrics server not started', { port, error: error instanceof Error ? error.message : String(error) });
    return undefined;
  }
  return { port: (server.address() as AddressInfo).port, close: () => closeServer(server) };
}

function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // A scraper's keep-alive connection would otherwise hold close() open until it times out.
  server.closeAllConnections();
  return closed;
}
