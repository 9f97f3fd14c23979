// A worker process for capacity.ts's scaling runs: the queue workers of workers/main.ts, built the
// same way from the same environment (WORKER_QUEUES, QUEUE_PREFIX, the database pool), with BullMQ's
// limiters lifted. Those limiters are one counter per queue in Valkey shared by every process, so
// with them adding processes could never add rate; the stack's mock providers run unlimited too.
// Left out: the outbox relay, maintenance and the dead-letter alerter, which handle none of the
// drained jobs. Run by bench/harness/app-processes.ts's startWorkers, which waits for the ready line.
import { config } from '@/lib/config';
import { createPool } from '@/lib/sql';
import { createLogger } from '@/lib/log';
import { createWorkerConnection } from '@/lib/valkey';
import { startWorkers } from '@/workers/runtime/start-workers';
import { LIFTED_LIMITER } from '@/bench/harness/throughput';

const settings = config();
const log = createLogger('worker');
const pool = createPool(settings.databaseUrl, { maxConnections: settings.databasePoolSize, applicationName: 'signup-worker' });
const connection = createWorkerConnection(settings.valkey, log);
const running = startWorkers({
  config: settings,
  pool,
  connection,
  log,
  limiters: Object.fromEntries(settings.workerQueues.map((queue) => [queue, LIFTED_LIMITER])),
});
log.info('worker started', { queues: settings.workerQueues.join(','), pid: process.pid, limiters: 'lifted' });

async function shutdown(): Promise<void> {
  await running.close(settings.workerShutdownDeadlineMs);
  connection.disconnect();
  await pool.end();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());
