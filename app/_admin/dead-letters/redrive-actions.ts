'use server';
// The dead-letter page's redrive controls as server actions: start a redrive of the list's filters,
// pause, resume or cancel it, and read its progress. Each checks the admin session first and parses
// what the browser sent; app/_admin/dead-letters/dead-letter-redrives.ts holds the rules.
import 'server-only';
import { revalidatePath } from 'next/cache';
import { z } from 'zod';
import { requireAdminPage } from '@/app/_admin/auth/admin-auth';
import { webRuntime } from '@/app/_web/web-runtime';
import {
  changeRedrive,
  findRedrive,
  REDRIVE_CHANGES,
  startRedrive,
  type Redrive,
  type RedriveChange,
} from '@/app/_admin/dead-letters/dead-letter-redrives';
import { deadLetterMatchSchema } from '@/lib/dead-letter-filter';

export type RedriveActionResult = { ok: true; redrive: Redrive } | { ok: false; error: string; redrive?: Redrive };

const PAGE_PATH = '/admin/dead-letters';
const id = z.string().regex(/^[1-9][0-9]{0,18}$/).transform((value) => BigInt(value));
const change = z.enum(REDRIVE_CHANGES as [RedriveChange, ...RedriveChange[]]);

export async function startRedriveAction(filter: unknown): Promise<RedriveActionResult> {
  const admin = await requireAdminPage(PAGE_PATH);
  const match = deadLetterMatchSchema.safeParse(filter);
  if (!match.success) return { ok: false, error: `That filter cannot be replayed: ${match.error.issues[0]?.message ?? 'not understood'}.` };
  const { pool, replayPerSecond } = webRuntime();
  const result = await startRedrive(pool, match.data, { actor: admin.user, perSecond: replayPerSecond });
  revalidatePath(PAGE_PATH, 'layout');
  if ('started' in result) return { ok: true, redrive: result.started };
  if (result.refused === 'active') {
    return { ok: false, error: `Redrive #${result.active.id} is ${result.active.status}; finish or cancel it first.`, redrive: result.active };
  }
  return { ok: false, error: 'Nothing matches any more: these were replayed or discarded meanwhile.' };
}

export async function changeRedriveAction(redriveId: string, to: string): Promise<RedriveActionResult> {
  const admin = await requireAdminPage(PAGE_PATH);
  const parsed = z.object({ id, change }).safeParse({ id: redriveId, change: to });
  if (!parsed.success) return { ok: false, error: 'That request was not understood.' };
  const result = await changeRedrive(webRuntime().pool, parsed.data.id, parsed.data.change, admin.user);
  revalidatePath(PAGE_PATH, 'layout');
  if ('changed' in result) return { ok: true, redrive: result.changed };
  if (result.refused === 'unknown') return { ok: false, error: 'No such redrive.' };
  return { ok: false, error: `It is ${result.current.status} now, so it cannot ${parsed.data.change}.`, redrive: result.current };
}

export async function redriveProgressAction(redriveId: string): Promise<RedriveActionResult> {
  await requireAdminPage(PAGE_PATH);
  const parsed = id.safeParse(redriveId);
  if (!parsed.success) return { ok: false, error: 'That request was not understood.' };
  const redrive = await findRedrive(webRuntime().pool, parsed.data);
  return redrive ? { ok: true, redrive } : { ok: false, error: 'No such redrive.' };
}
