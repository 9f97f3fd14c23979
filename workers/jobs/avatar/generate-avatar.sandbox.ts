// The avatar queue's sandboxed processor: BullMQ runs this file in a child process, so rendering
// PNGs (CPU work) can never block the parent worker's event loop, lock renewals included. The
// child builds its own database pool, Valkey connection, context and tracer from the environment
// its parent handed down (lib/config.ts childProcessEnv).
import { SpanKind } from '@opentelemetry/api';
import { Queue, type SandboxedJob } from 'bullmq';
import { config } from '@/lib/config';
import { createPool } from '@/lib/sql';
import { createLogger } from '@/lib/log';
import { queuePrefix } from '@/lib/queues';
import { inStoredTrace, startTracing, type Tracing } from '@/lib/tracing';
import { createWorkerConnection } from '@/lib/valkey';
import { createHandlerContext, type HandlerContext } from '@/workers/jobs/handler-context';
import { processJob, type JobControls } from '@/workers/runtime/process-job';
import { inTenantPlace, tenantGateFor, type TenantGate } from '@/workers/runtime/tenant-gate';
import { providerBreaker } from '@/workers/resilience/provider-breaker';

// A parent that dies without closing its pool (SIGKILL, the OOM killer) closes this process's IPC
// channel, and nothing else would ever end it: it would linger, holding its connections. Its job
// is not lost by exiting: the dead parent's lock expires and the stalled-job check hands the job
// to another worker.
process.once('disconnect', () => process.exit(1));
// The parent may already be gone: a busy machine can take seconds to load this file, and an event
// that fired before the listener above existed is not repeated. (Seen: an orphan left spinning.)
if (!process.connected) process.exit(1);

/**
 * The child sends its spans every second rather than every five: it exits when its worker closes
 * or its parent dies (above), without a chance to send what it holds, which is then lost.
 */
const EXPORT_EVERY_MS = 1_000;

let child:
  | {
      context: HandlerContext;
      controls: Omit<JobControls, 'signal' | 'handBack'>;
      tenantGate: TenantGate | undefined;
      tracing: Promise<Tracing | undefined>;
    }
  | undefined;

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
      tenantGate: tenantGateFor(queue, { config: settings, connection, log }),
      // BullMQ traces the job in the parent only; without a tracer of its own this process's
      // render and storage call would be in no trace at all.
      tracing: startTracing('signup-avatar-sandbox', settings.otlpEndpoint, { exportEveryMs: EXPORT_EVERY_MS }),
    };
  }
  return child;
}

/**
 * BullMQ hands the child the job's lock token and an AbortSignal that the parent's worker.cancelJob
 * and cancelAllJobs fire; job.moveToDelayed is carried out by the parent, which holds the lock.
 * The job's span continues the context the job carries (opts.telemetry.metadata), the producer's:
 * the parent's own `process` span is not handed to the child, so the two are siblings in one trace.
 */
export default async function generateAvatarSandbox(job: SandboxedJob, token?: string, signal?: AbortSignal) {
  const { context, controls, tenantGate, tracing } = childRuntime();
  await tracing;
  return inStoredTrace(
    job.opts.telemetry?.metadata,
    `sandbox ${job.queueName}.${job.name}`,
    { kind: SpanKind.CONSUMER, attributes: { 'messaging.message.id': job.id ?? '', 'job.attempt': job.attemptsMade + 1 } },
    () =>
      inTenantPlace(
        tenantGate,
        job,
        (untilMs) => job.moveToDelayed(untilMs, token),
        () => processJob(job, context, { ...controls, signal, handBack: () => job.moveToDelayed(Date.now(), token) }),
      ),
  );
}
