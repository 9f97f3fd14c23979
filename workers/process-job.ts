// Runs one job: finds its handler, validates the payload (the producer is typed, but the queue may
// hold jobs written by an older or newer version), runs the handler and translates the provider
// error taxonomy into what BullMQ acts on. Shared by in-process and sandboxed processors.
import { UnrecoverableError } from 'bullmq';
import type { HandlerContext, HandlerOutcome } from '@/workers/handler-context';
import { JOB_DEFINITIONS } from '@/workers/handlers';
import { PermanentProviderError } from '@/workers/providers/provider-errors';

export interface RunnableJob {
  name: string;
  data: unknown;
}

export async function processJob(job: RunnableJob, ctx: HandlerContext): Promise<HandlerOutcome> {
  const definition = JOB_DEFINITIONS.get(job.name);
  if (!definition) throw permanent(`no handler for job "${job.name}"`);

  const payload = definition.contract.payload.safeParse(job.data);
  if (!payload.success) {
    throw permanent(`invalid payload for ${job.name}: ${payload.error.issues.map((issue) => issue.message).join('; ')}`);
  }

  try {
    return await definition.handler(payload.data, ctx);
  } catch (error) {
    // Retrying cannot fix a permanent refusal: UnrecoverableError makes BullMQ fail the job now.
    if (error instanceof PermanentProviderError) throw permanent(error.message, error);
    throw error;
  }
}

function permanent(message: string, cause?: unknown): UnrecoverableError {
  const error = new UnrecoverableError(message);
  if (cause !== undefined) error.cause = cause;
  return error;
}
