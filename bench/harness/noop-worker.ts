// A worker process whose processor does nothing, for capacity.ts's Valkey saturation run: plain
// BullMQ Workers on the queues in WORKER_QUEUES under QUEUE_PREFIX, `--concurrency <n>` jobs in
// flight per queue, no limiter. Several of these side by side push Valkey as hard as the machine
// allows. Run by bench/harness/app-processes.ts's startWorkers, which waits for the ready line.
import { Worker } from 'bullmq';
import { config } from '@/lib/config';
import { createLogger } from '@/lib/log';
import { queuePrefix } from '@/lib/queues';
import { createWorkerConnection } from '@/lib/valkey';

/** Enough that a worker never waits on its own slots while Valkey answers in well under 1 ms. */
const DEFAULT_CONCURRENCY = 50;
/** Closing idle workers is quick; this bounds one that waits on a Valkey that went away. */
const CLOSE_DEADLINE_MS = 5_000;

const settings = config();
const log = createLogger('worker');
const at = process.argv.indexOf('--concurrency');
const concurrency = at >= 0 ? Number(process.argv[at + 1]) : DEFAULT_CONCURRENCY;
const connection = createWorkerConnection(settings.valkey, log);
const workers = settings.workerQueues.map((name) => {
  const worker = new Worker(name, async () => undefined, {
    connection,
    prefix: queuePrefix(settings.queuePrefix, name),
    concurrency,
  });
  worker.on('error', () => undefined);
  return worker;
});
log.info('worker started', { queues: settings.workerQueues.join(','), pid: process.pid, concurrency, processor: 'no-op' });

async function shutdown(): Promise<void> {
  await Promise.race([
    Promise.all(workers.map((worker) => worker.close())),
    new Promise((resolve) => setTimeout(resolve, CLOSE_DEADLINE_MS).unref()),
  ]);
  connection.disconnect();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());
