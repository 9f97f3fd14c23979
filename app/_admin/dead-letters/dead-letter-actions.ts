'use server';
// The dead-letter page's server actions: replay or discard one, a selection, or all of a queue.
// Each checks the admin session first, parses what the browser sent (anyone can call an action
// with anything), and goes through app/_admin/dead-letters/dead-letters.ts, which writes the audit log. Expected
// failures come back as values for the page to show; only bugs throw.
import 'server-only';
import { revalidatePath } from 'next/cache';
import { z } from 'zod';
import { requireAdminPage } from '@/app/_admin/auth/admin-auth';
import { webRuntime } from '@/app/_web/web-runtime';
import { discardDeadLetters, listDeadLetters, MAX_PAGE, replayDeadLetters, type ReplayResult } from '@/app/_admin/dead-letters/dead-letters';
import { isValkeyUnreachable } from '@/app/_admin/queue-health/queue-health';
import { QUEUE_NAMES, type QueueName } from '@/lib/queues';

export type DeadLetterActionResult = { ok: true; message: string } | { ok: false; error: string };

const PAGE_PATH = '/admin/dead-letters';
/** The same bound as the replay API's {ids}: one decision should not silently cover more than this. */
const MAX_SELECTION = 10_000;

const ids = z
  .array(z.string().regex(/^[1-9][0-9]{0,18}$/))
  .min(1, 'Select at least one dead letter.')
  .max(MAX_SELECTION, `Select at most ${MAX_SELECTION.toLocaleString('en-US')} dead letters.`)
  .transform((values) => values.map((value) => BigInt(value)));
const queue = z.enum(QUEUE_NAMES);
const reason = z.string().trim().min(1, 'Give a reason for discarding.').max(500, 'Keep the reason under 500 characters.');

export async function replayDeadLettersAction(selected: string[]): Promise<DeadLetterActionResult> {
  const admin = await requireAdminPage(PAGE_PATH);
  const parsed = ids.safeParse(selected);
  if (!parsed.success) return refusal(parsed.error);
  return replay({ ids: parsed.data }, admin.user);
}

export async function replayQueueAction(queueName: string): Promise<DeadLetterActionResult> {
  const admin = await requireAdminPage(PAGE_PATH);
  const parsed = queue.safeParse(queueName);
  if (!parsed.success) return { ok: false, error: 'Unknown queue.' };
  return replay({ queue: parsed.data }, admin.user);
}

export async function discardDeadLettersAction(selected: string[], why: string): Promise<DeadLetterActionResult> {
  const admin = await requireAdminPage(PAGE_PATH);
  const parsed = z.object({ ids, reason }).safeParse({ ids: selected, reason: why });
  if (!parsed.success) return refusal(parsed.error);
  return discard(parsed.data.ids, parsed.data.reason, admin.user);
}

export async function discardQueueAction(queueName: string, why: string): Promise<DeadLetterActionResult> {
  const admin = await requireAdminPage(PAGE_PATH);
  const parsed = z.object({ queue, reason }).safeParse({ queue: queueName, reason: why });
  if (!parsed.success) return refusal(parsed.error);
  return discard(await unresolvedIds(parsed.data.queue), parsed.data.reason, admin.user);
}

async function replay(selection: { ids: bigint[] } | { queue: QueueName }, actor: string): Promise<DeadLetterActionResult> {
  const { db, queues, replayPerSecond } = webRuntime();
  let result: ReplayResult;
  try {
    result = await replayDeadLetters(db, queues, selection, { actor, perSecond: replayPerSecond });
  } catch (error) {
    if (!isValkeyUnreachable(error)) throw error;
    return { ok: false, error: 'Valkey is unreachable, so nothing could be queued. The dead letters still wait here.' };
  }
  revalidatePath(PAGE_PATH, 'layout');
  if (result.replayed === 0) return { ok: false, error: 'Nothing to replay: these were already replayed or discarded.' };
  const spacing =
    result.replayed === 1
      ? 'It runs now'
      : `Spaced at ${replayPerSecond}/s, the last one runs in ${(result.lastDueInMs / 1_000).toFixed(1)} s`;
  const skipped = result.skipped > 0 ? ` ${result.skipped} skipped: already replayed or discarded.` : '';
  return { ok: true, message: `Replayed ${plural(result.replayed)}. ${spacing}.${skipped}` };
}

async function discard(selected: bigint[], why: string, actor: string): Promise<DeadLetterActionResult> {
  if (selected.length === 0) return { ok: false, error: 'Nothing to discard.' };
  const { db } = webRuntime();
  const { discarded } = await discardDeadLetters(db, selected, { actor, reason: why });
  revalidatePath(PAGE_PATH, 'layout');
  if (discarded === 0) return { ok: false, error: 'Nothing to discard: these were already replayed or discarded.' };
  return { ok: true, message: `Discarded ${plural(discarded)}: “${why}”.` };
}

/** Every unresolved dead letter of a queue, newest first, up to MAX_SELECTION. */
async function unresolvedIds(queueName: QueueName): Promise<bigint[]> {
  const { db } = webRuntime();
  const found: bigint[] = [];
  let beforeId: bigint | undefined;
  while (found.length < MAX_SELECTION) {
    const page = await listDeadLetters(db, { queue: queueName, beforeId, limit: MAX_PAGE });
    found.push(...page.map((row) => row.id));
    if (page.length < MAX_PAGE) break;
    beforeId = page.at(-1)?.id;
  }
  return found.slice(0, MAX_SELECTION);
}

function refusal(error: z.ZodError): DeadLetterActionResult {
  return { ok: false, error: error.issues[0]?.message ?? 'That request was not understood.' };
}

function plural(value: number): string {
  return `${value.toLocaleString('en-US')} dead letter${value === 1 ? '' : 's'}`;
}
