// The avatar queue's sandboxed processor: BullMQ runs this file in a child process, so rendering
// PNGs (CPU work) can never block the parent worker's event loop, lock renewals included. The
// child builds its own database pool and context from the environment its parent handed down.
import type { SandboxedJob } from 'bullmq';
import { config } from '@/lib/config';
import { createDb } from '@/lib/db';
import { createHandlerContext, type HandlerContext } from '@/workers/handler-context';
import { processJob } from '@/workers/process-job';

let context: HandlerContext | undefined;

export default async function generateAvatarSandbox(job: SandboxedJob) {
  // One small pool per child: it runs one job at a time.
  context ??= createHandlerContext(config(), createDb(config().databaseUrl, { maxConnections: 2 }));
  return processJob(job, context);
}
