// Connections to Valkey. Two kinds, because the two sides want opposite things from a dead server:
// the producer (the web app's signup path) must fail at once so a signup never waits on Valkey,
// while a worker must wait and reconnect forever, since blocking commands are its whole job.
import { Redis } from 'ioredis';

/** How long the signup path may wait for Valkey before it leaves the job to the outbox relay. */
const PRODUCER_COMMAND_TIMEOUT_MS = 500;

export function createProducerConnection(url: string): Redis {
  const connection = new Redis(url, {
    // Commands issued while disconnected are rejected instead of buffered: the outbox has them.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: PRODUCER_COMMAND_TIMEOUT_MS,
    commandTimeout: PRODUCER_COMMAND_TIMEOUT_MS,
    // Jobs added concurrently for one signup go out in one write (one round trip).
    enableAutoPipelining: true,
    // Keep trying in the background so the fast path comes back on its own after an outage.
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    lazyConnect: false,
  });
  // Without a listener ioredis logs every failed reconnect as an unhandled error event.
  connection.on('error', () => undefined);
  return connection;
}

export function createWorkerConnection(url: string, onError: (error: Error) => void): Redis {
  const connection = new Redis(url, {
    // BullMQ requires this for blocking commands: a worker must keep waiting, not give up.
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(attempt * 500, 5_000),
  });
  connection.on('error', onError);
  return connection;
}
