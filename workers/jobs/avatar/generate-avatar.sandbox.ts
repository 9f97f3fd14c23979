// The avatar queue's sandboxed processor: BullMQ runs this file in a child process, so rendering
// PNGs (CPU work) can never block the parent worker's event loop, lock renewals included. The
// child builds its own database pool, Valkey connection and context from the environment its
// parent handed down (lib/config.ts childProcessEnv).
import { Queue, type SandboxedJob } from 'bullmq';
import { config } from '@/lib/config';
import { createPool } from '@/lib/sql';
import { createLogger } from '@/lib/log';
import { queuePrefix } from '@/lib/queues';
import { createWorkerConnection } from '@/lib/valkey';
import { createHandlerContext, type HandlerContext } from '@/workers/jobs/handler-context';
import { processJob, type JobControls } from '@/workers/runtime/process-job';
import { providerBreaker } from '@/workers/resilience/provider-breaker';

// A parent that dies without closing its pool (SIGKILL, the OOM killer) closes this process's IPC
// channel, and nothing else would ever end it: it would linger, holding its connections. Its job
// is not lost by exiting: the dead parent's lock expires and the stalled-job check hands the job
// to another worker.
process.once('disconnect', () => process.exit(1));
// The parent may already be gone: a busy machine can take seconds to load this file, and an event
// that fired before the listener above existed is not repeated. (Seen: an orphan left spinning.)
if (!process.connected) process.exit(1);

let child: { context: HandlerContext; controls: Omit<JobControls, 'signal'> } | undefined;

function childRuntime() {
  if (!child) {
    const settings = config();
    const log = createLogger('avatar-sandbox');
    const connection = createWorkerConnection(settings.valkey, log);
    const queue = new Queue('avatar', { connection, prefix: queuePrefix(settings.queuePrefix, 'avatar') });
    queue.on('error', () => undefined);
    child = {
      // One small pool per child: it runs one job at a time.
      context: createHandlerContext(settings, createPool(settings.databaseUrl, { maxConnections: 2, applicationName: 'signup-avatar-sandbox' })),
      controls: {
        rateLimit: (ms) => queue.rateLimit(ms),
        breaker: settings.circuitBreakers ? providerBreaker('avatar', settings, connection, log) : undefined,
      },
    };
  }
  return child;
}

export default async function generateAvatarSandbox(job: SandboxedJob) {
  const { context, controls } = childRuntime();
  return processJob(job, context, controls);
}
