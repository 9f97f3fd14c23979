// Connections to Valkey. Two kinds, because the two sides want opposite things from a dead server:
// the producer (the web app's signup path) must fail at once so a signup never waits on Valkey,
// while a worker must wait and reconnect forever, since blocking commands are its whole job.
import { Redis } from 'ioredis';
import type { Logger } from '@/lib/log';

/** How long the signup path may wait for Valkey before it leaves the job to the outbox relay. */
const PRODUCER_COMMAND_TIMEOUT_MS = 500;

export function createProducerConnection(url: string, log?: Logger): Redis {
  const connection = new Redis(url, {
    // Commands issued while disconnected are rejected instead of buffered: the outbox has them.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: PRODUCER_COMMAND_TIMEOUT_MS,
    commandTimeout: PRODUCER_COMMAND_TIMEOUT_MS,
    // No enableAutoPipelining: a batch formed before BullMQ has defined its script commands on a
    // fresh connection throws outside any promise and can take the process down. Concurrent
    // commands are written at once without waiting for replies anyway, so a signup's four adds
    // still cost about one round trip.
    // Keep trying in the background so the fast path comes back on its own after an outage.
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    lazyConnect: false,
  });
  reportReachability(connection, log, 'valkey unreachable; new jobs wait in the outbox');
  return connection;
}

export function createWorkerConnection(url: string, log?: Logger): Redis {
  const connection = new Redis(url, {
    // BullMQ requires this for blocking commands: a worker must keep waiting, not give up.
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(attempt * 500, 5_000),
  });
  reportReachability(connection, log, 'valkey unreachable; workers wait for it');
  return connection;
}

/** True for the errors a lost connection produces, which reportReachability already reports. */
export function isConnectionError(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code ?? '');
}

/**
 * Logs one line when Valkey goes away and one when it is back, not one per reconnect attempt. The
 * listener also keeps ioredis from printing every failed reconnect as an unhandled error.
 */
function reportReachability(connection: Redis, log: Logger | undefined, message: string): void {
  let reachable = true;
  connection.on('error', (error: Error) => {
    if (!reachable) return;
    reachable = false;
    log?.warn(message, { error: error.message });
  });
  connection.on('ready', () => {
    if (reachable) return;
    reachable = true;
    log?.info('valkey reachable again');
  });
}
