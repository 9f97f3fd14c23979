'use server';
// The pending-jobs page's server action: cancel one job, with a reason. It checks the admin session
// first, parses what the browser sent (anyone can call an action with anything), and goes through
// cancel-job.ts, which writes the audit log. Refusals come back as values for the page to show.
import 'server-only';
import { revalidatePath } from 'next/cache';
import { z } from 'zod';
import { requireAdminPage } from '@/app/_admin/auth/admin-auth';
import { cancelJob } from '@/app/_admin/jobs/cancel-job';
import { isValkeyUnreachable } from '@/app/_admin/queue-health/queue-health';
import { webRuntime } from '@/app/_web/web-runtime';
import { cancelReasonSchema, jobIdSchema } from '@/lib/cancel-requests';
import { config } from '@/lib/config';
import { QUEUE_NAMES } from '@/lib/queues';

export type CancelJobActionResult = { ok: true; message: string } | { ok: false; error: string };

const PAGE_PATH = '/admin/jobs';

const target = z.object({
  queue: z.enum(QUEUE_NAMES, { error: 'Unknown queue.' }),
  id: jobIdSchema,
  reason: cancelReasonSchema,
});

export async function cancelJobAction(queue: string, id: string, reason: string): Promise<CancelJobActionResult> {
  const admin = await requireAdminPage(PAGE_PATH);
  const parsed = target.safeParse({ queue, id, reason });
  if (!parsed.success) return { ok: false, error: parsed.error.issues[0]?.message ?? 'That request was not understood.' };

  const { db, queues, valkey } = webRuntime();
  let outcome;
  try {
    outcome = await cancelJob(
      { db, queues, valkey, queuePrefix: config().queuePrefix },
      { queue: parsed.data.queue, jobId: parsed.data.id, reason: parsed.data.reason, actor: admin.user },
    );
  } catch (error) {
    if (!isValkeyUnreachable(error)) throw error;
    return { ok: false, error: 'Valkey is unreachable, so nothing was cancelled.' };
  }
  revalidatePath(PAGE_PATH);
  switch (outcome.status) {
    case 'cancelled':
      return { ok: true, message: `Cancelled ${parsed.data.id} (it was ${outcome.was}). Its dead letter can re-run it.` };
    case 'cancelling':
      return { ok: true, message: `Asked the workers to abort ${parsed.data.id}; it had not stopped yet. Reload in a moment.` };
    case 'not-found':
      return { ok: false, error: `No job ${parsed.data.id} in the ${parsed.data.queue} queue any more.` };
    case 'finished':
      return { ok: false, error: `${parsed.data.id} has already ${outcome.state}; there is nothing to cancel.` };
  }
}
