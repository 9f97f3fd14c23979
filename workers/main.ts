// Entry point of a worker process (`npm run workers`): the queues named in WORKER_QUEUES, plus the
// outbox relay, the maintenance worker (reconciler, dead-letter digest, retention sweep) and the
// dead-letter alerter (each safe to run in every process: the relay and the alerter claim rows
// with SKIP LOCKED, and each maintenance task's job scheduler runs it once per interval across all
// of them). Runs apart from the web process so the two scale and fail independently.
//
// Started on its own (npm run workers, a container) it first reads .env and checks that PostgreSQL
// and Valkey answer, and exits with one plain paragraph when one does not (lib/service-check.ts).
// Under npm start (`--supervised`) the stack has checked already, and a restart in the middle of an
// outage must wait it out like any running worker, not exit.
import { config, loadDotEnv } from '@/lib/config';
import { missingServices } from '@/lib/service-check';
import { createPool } from '@/lib/sql';
import { createLogger } from '@/lib/log';
import { startTracing } from '@/lib/tracing';
import { metrics } from '@/lib/metrics';
import { closeQueueSet, createQueueSet } from '@/lib/queues';
import { createProducerConnection, createWorkerConnection } from '@/lib/valkey';
import { startDeadLetterAlerts } from '@/workers/loops/dead-letter-alerts';
import { startMaintenance } from '@/workers/maintenance/maintenance-queue';
import { startMetricsServer } from '@/workers/runtime/metrics-server';
import { startOutboxRelay } from '@/workers/loops/outbox-relay';
import { startWorkers } from '@/workers/runtime/start-workers';

const supervised = process.argv.includes('--supervised');
if (!supervised) loadDotEnv();
const settings = config();
if (!supervised) {
  const missing = await missingServices(settings);
  if (missing.length > 0) {
    console.error(`${missing.join('\n\n')}\n\nThe workers need both; none was started.`);
    process.exit(1);
  }
}
// First, so the clients created below are traced.
const tracing = await startTracing('signup-workers', settings.otlpEndpoint);
const log = createLogger('worker');
const pool = createPool(settings.databaseUrl, { maxConnections: settings.databasePoolSize, applicationName: 'signup-worker' });

const workerConnection = createWorkerConnection(settings.valkey, log);
const running = startWorkers({ config: settings, pool, connection: workerConnection, log });

// The relay fails fast like the web's producer, so an outage shows as backoff, not a hang.
const relayConnection = createProducerConnection(settings.valkey, log);
const relayQueues = createQueueSet(relayConnection, settings.queuePrefix);
const relay = startOutboxRelay({ pool, queues: relayQueues, log });
// RECONCILE_EVERY_MS=0 turns the reconciler off; the digest and the sweep run regardless.
const maintenance = startMaintenance({ config: settings, pool, connection: workerConnection, queues: relayQueues, log });
const alerts = startDeadLetterAlerts(
  {
    pool,
    log,
    webhookUrl: settings.alerts.webhookUrl,
    webhookKey: settings.alerts.webhookKey,
    providerTimeoutMs: settings.providers.timeoutMs,
  },
  { windowMs: settings.alerts.windowMs },
);
const metricsServer =
  settings.metrics.workerPort > 0
    ? await startMetricsServer({ port: settings.metrics.workerPort, token: settings.metrics.token, metrics: metrics(), log })
    : undefined;

log.info('worker started', { queues: settings.workerQueues.join(','), pid: process.pid, metricsPort: metricsServer?.port });

let shuttingDown = false;
async function shutdown(signal: string) {
  if (shuttingDown) return;
  shuttingDown = true;
  log.info('shutting down', { signal, deadlineMs: settings.workerShutdownDeadlineMs });
  // Every step below has its own deadline; this one is the net under them, so a closing
  // connection that never answers (Valkey gone mid-shutdown) cannot keep the process alive.
  setTimeout(() => {
    log.error('shutdown overran its deadline; exiting');
    process.exit(1);
  }, settings.workerShutdownDeadlineMs + 5_000).unref();
  await Promise.all([relay.stop(), alerts.stop(), metricsServer?.close()]);
  await running.close(settings.workerShutdownDeadlineMs);
  await maintenance.close();
  await closeQueueSet(relayQueues);
  relayConnection.disconnect();
  workerConnection.disconnect();
  await pool.end();
  await tracing?.shutdown();
  log.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
